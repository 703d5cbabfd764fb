"""Event messages -> decoded events in the image clock (the event side of the node).

Message types are imported only when their mode is selected (:func:`message_type`); a missing
package gives :class:`MissingPackageError` naming it. :class:`EventDecoding` keeps one stateful
decoder per stream (encoding and geometry), maps sensor time to image time (header stamps
through :class:`~fetrack_ros.events.ClockOffsetEstimator`, or a fixed offset) and reports each
problem as an :class:`EventInputError` with a diagnostics reason.
"""
from __future__ import annotations

import importlib

import numpy as np

from fetrack_ros.events import (EVENT_DTYPE, ClockOffsetEstimator, EventDecodeError, decode_legacy_arrays,
                                make_decoder)

from .conversions import stamp_to_ns

#: event_input parameter value -> (package, module, message name)
MESSAGE_TYPES = {
    "event_packet": ("event_camera_msgs", "event_camera_msgs.msg", "EventPacket"),
    "dvs_event_array": ("dvs_msgs", "dvs_msgs.msg", "EventArray"),
    "prophesee_event_array": ("prophesee_event_msgs", "prophesee_event_msgs.msg", "EventArray"),
}


class MissingPackageError(RuntimeError):
    """The message package of the selected event input is not installed."""


class EventInputError(ValueError):
    """An event message that was skipped; ``reason`` is its diagnostics key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def message_type(mode: str):
    """The ROS message class of event input ``mode``; raises MissingPackageError naming the package."""
    package, module, name = MESSAGE_TYPES[mode]
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        raise MissingPackageError(
            f"event_input '{mode}' needs the ROS package {package} ({package}/msg/{name}), which is not "
            f"installed; install it or choose another event_input") from None


class EventDecoding:
    """Stateful decoding of one event topic.

    ``clock``: ``"header"`` estimates the sensor-to-image clock offset from packet header stamps;
    ``"fixed"`` adds ``fixed_offset_ns`` to every event time.
    """

    def __init__(self, mode: str, clock: str, fixed_offset_ns: int = 0,
                 restart_backward_ns: int = 500_000_000) -> None:
        if mode not in MESSAGE_TYPES:
            raise ValueError(f"event input {mode!r} does not carry events; expected one of {sorted(MESSAGE_TYPES)}")
        if clock not in ("header", "fixed"):
            raise ValueError(f"event clock {clock!r} unknown; expected 'header' or 'fixed'")
        self.mode = mode
        self.clock = ClockOffsetEstimator(fixed_offset_ns=None if clock == "header" else int(fixed_offset_ns))
        self._decoders: dict[tuple, object] = {}
        self.geometry: tuple[int, int] | None = None  # (height, width) of the last message
        self.restart_backward_ns = int(restart_backward_ns)
        self.restarts = 0  # header stamps jumping back (bag loop, camera restart): decoders reset
        self._last_header_ns: int | None = None

    def decode(self, msg) -> tuple[np.ndarray, bool]:
        """``(events, malformed)``: the message's events (:data:`EVENT_DTYPE`, ``t`` in the image
        clock, ns; may be empty) and whether the decoder met words it could not interpret (the
        events around them are kept).

        Raises :class:`EventInputError` (with the diagnostics reason) for a message that was skipped.
        """
        height, width = int(msg.height), int(msg.width)
        if height < 1 or width < 1 or height > 0xFFFF or width > 0xFFFF:
            raise EventInputError("events.bad_geometry", f"event message has geometry {width}x{height}; "
                                  f"expected 1..65535 pixels each")
        self.geometry = (height, width)
        self._check_restart(stamp_to_ns(msg.header.stamp))
        malformed, sensor_start = False, None
        if self.mode == "event_packet":
            events, sensor_start, malformed = self._decode_packet(msg, height, width)
        else:
            events = _legacy_events(msg)
        if len(events) == 0:
            return events, malformed
        if self.clock.fixed_offset_ns is None:
            start = sensor_start if sensor_start is not None else int(events["t"][0])
            self.clock.update(stamp_to_ns(msg.header.stamp), start)
        events["t"] += self.clock.offset_ns
        return events, malformed

    def _check_restart(self, header_ns: int) -> None:
        """A header stamp far before the previous one: the stream restarted; decode it afresh.

        EVT3 time cannot step back (a lower TIME_HIGH is read as a 2^24 us wrap), so a bag that
        loops would otherwise decode 16.8 s ahead; the decoders and the clock estimate are reset.
        """
        last, self._last_header_ns = self._last_header_ns, header_ns
        if last is not None and last - header_ns > self.restart_backward_ns:
            self.restarts += 1
            self._decoders.clear()
            self.clock.reset()

    def _decode_packet(self, msg, height: int, width: int):
        encoding = str(msg.encoding)
        key = (encoding, height, width)
        decoder = self._decoders.get(key)
        if decoder is None:
            try:
                decoder = self._decoders[key] = make_decoder(encoding, width, height)
            except (ValueError, ImportError) as exc:
                raise EventInputError("events.unknown_encoding", str(exc)) from None
        before = _problem_count(decoder)
        try:
            events = decoder.decode(np.frombuffer(msg.events, np.uint8), int(msg.time_base))
        except EventDecodeError as exc:
            raise EventInputError("events.malformed_packet", f"{encoding} packet seq {msg.seq}: {exc}") from None
        return events, decoder.packet_start_time_ns, _problem_count(decoder) != before


def _problem_count(decoder) -> int:
    """Words or bytes the decoder could not interpret so far (its stats name them)."""
    stats = getattr(decoder, "stats", None)
    return sum(getattr(stats, name, 0) for name in ("unsupported_words", "odd_bytes", "partial_bytes"))


def _legacy_events(msg) -> np.ndarray:
    """dvs_msgs / prophesee_event_msgs EventArray (one struct per event; ts = ROS time)."""
    items = msg.events
    if not len(items):
        return np.zeros(0, EVENT_DTYPE)
    return decode_legacy_arrays([e.x for e in items], [e.y for e in items], [e.ts.sec for e in items],
                                [e.polarity for e in items], [e.ts.nanosec for e in items])
