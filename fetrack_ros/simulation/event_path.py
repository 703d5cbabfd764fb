"""Simulated events through the path real ones take: EVT3 packets -> decoder -> buffer -> windows.

The simulator's events are cut into ``packet_us`` packets (a driver publishes ~1 ms packets),
each encoded as EVT 3.0, decoded packet by packet by the stateful decoder the node uses,
buffered in an :class:`~fetrack_ros.events.EventBuffer` and cut per frame with the node's
default ``between_frames`` window policy. Simulated times are whole microseconds, so the result
equals the simulator's own per-frame events (a test checks it); training with
``event_path: evt3`` exercises and guards that equivalence.
"""
from __future__ import annotations

import numpy as np

from ..events import EventBuffer, WindowPolicy, packetize
from ..events.packets import make_decoder


def through_evt3(sequence, frame_events: list[np.ndarray], packet_us: int = 1000) -> list[np.ndarray]:
    """Per-frame event windows of a :class:`~.simulator.SyntheticSequence` after the EVT3 round trip.

    ``frame_events``: the simulator's per-frame events, in frame order.
    """
    cfg = sequence.config
    decoder = make_decoder("evt3", cfg.width, cfg.height)
    buffer = EventBuffer(max_span_ns=10**12)
    for _, payload in packetize(np.concatenate(frame_events), packet_us):
        buffer.append(decoder.decode(payload).events)
    policy = WindowPolicy("between_frames", duration_ns=cfg.frame_period_us * 1000)
    return [buffer.window(*policy.window(int(stamp))) for stamp in sequence.stamps_ns]
