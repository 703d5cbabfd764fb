"""Event messages -> decoded events in the image clock, for the node and bag readers alike.

Works on rclpy and rosbags messages (duck-typed on the fields) of the event inputs in
:data:`EVENT_MODES`. :class:`EventDecoding` keeps one stateful decoder per stream (encoding and
geometry), maps sensor time to image time (header stamps through
:class:`~fetrack_ros.events.ClockOffsetEstimator`, or a fixed offset) and reports each problem
as an :class:`EventInputError` with a diagnostics reason.
"""
from __future__ import annotations

import numpy as np

from ..events import EVENT_DTYPE, ClockOffsetEstimator, EventDecodeError, decode_legacy_arrays, make_decoder
from .stamps import stamp_to_ns

#: Event inputs that carry events: event_camera_msgs/EventPacket, dvs_msgs and prophesee_event_msgs EventArray.
EVENT_MODES = ("event_packet", "dvs_event_array", "prophesee_event_array")


class EventInputError(ValueError):
    """An event message that was skipped; ``reason`` is its diagnostics key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class EventDecoding:
    """Stateful decoding of one event topic.

    ``clock``: ``"header"`` estimates the sensor-to-image clock offset from packet header stamps;
    ``"fixed"`` adds ``fixed_offset_ns`` to every event time.
    """

    def __init__(self, mode: str, clock: str, fixed_offset_ns: int = 0,
                 restart_backward_ns: int = 500_000_000) -> None:
        if mode not in EVENT_MODES:
            raise ValueError(f"event input {mode!r} does not carry events; expected one of {list(EVENT_MODES)}")
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
        """One message: ``(events, malformed)``; raises :class:`EventInputError` if it was skipped."""
        chunks, malformed, errors = self.decode_many([msg])
        if errors:
            raise errors[0]
        return (np.concatenate(chunks) if chunks else np.zeros(0, EVENT_DTYPE)), malformed > 0

    def decode_many(self, msgs) -> tuple[list[np.ndarray], int, list[EventInputError]]:
        """Decode messages in arrival order: ``(event arrays, malformed, errors)``.

        Event arrays are :data:`EVENT_DTYPE` with ``t`` in the image clock (ns). ``malformed``
        counts decoder calls that met words or bytes they could not interpret (the events around
        them are kept); ``errors`` are the skipped messages, each with its diagnostics reason.
        Consecutive EVT3 packets of one stream are decoded in one call, their payloads joined
        (a packet's trailing odd byte dropped, as the per-packet decoder does): the same events
        as packet by packet, with one decoder call and one buffer append instead of ~30 per frame.
        """
        chunks: list[np.ndarray] = []
        errors: list[EventInputError] = []
        malformed = 0
        run: list = []
        for msg in msgs:
            height, width = int(msg.height), int(msg.width)
            if height < 1 or width < 1 or height > 0xFFFF or width > 0xFFFF:
                errors.append(EventInputError("events.bad_geometry", f"event message has geometry "
                                              f"{width}x{height}; expected 1..65535 pixels each"))
                continue
            key = (str(getattr(msg, "encoding", "")), height, width)
            header = stamp_to_ns(msg.header.stamp)
            restart = self._last_header_ns is not None and self._last_header_ns - header > self.restart_backward_ns
            if run and (restart or key != run[0][0] or key[0] != "evt3"):
                malformed += self._decode_run(run, chunks, errors)
                run = []
            if restart:  # EVT3 time cannot step back: a looping bag would decode 16.8 s ahead
                self.restarts += 1
                self._decoders.clear()
                self.clock.reset()
            self._last_header_ns = header
            self.geometry = (height, width)
            run.append((key, msg))
        if run:
            malformed += self._decode_run(run, chunks, errors)
        return chunks, malformed, errors

    def _decode_run(self, run, chunks: list, errors: list) -> int:
        """Decode messages of one stream key; append their events; return 1 if malformed else 0."""
        key, first = run[0]
        if self.mode != "event_packet":
            for _, msg in run:
                events = _legacy_events(msg)
                self._to_image_clock(events, stamp_to_ns(msg.header.stamp), None)
                if len(events):
                    chunks.append(events)
            return 0
        decoder = self._decoders.get(key)
        if decoder is None:
            try:
                decoder = self._decoders[key] = make_decoder(key[0], key[2], key[1])
            except (ValueError, ImportError) as exc:
                errors.extend(EventInputError("events.unknown_encoding", str(exc)) for _ in run)
                return 0
        headers = [stamp_to_ns(msg.header.stamp) for _, msg in run]
        parts = [np.frombuffer(msg.events, np.uint8) for _, msg in run]
        joined, odd = {}, 0
        if len(parts) > 1:  # one EVT3 call; each packet's trailing odd byte dropped, as packet by packet
            odd = sum(len(part) % 2 for part in parts)
            joined["packet_offsets"] = np.cumsum([len(part) // 2 for part in parts])[:-1]  # words
            parts = [part[:len(part) // 2 * 2] for part in parts]
        before = _problem_count(decoder)
        try:
            events = decoder.decode(parts[0] if len(parts) == 1 else np.concatenate(parts), int(first.time_base),
                                    **joined)
        except EventDecodeError as exc:
            errors.append(EventInputError("events.malformed_packet", f"{key[0]} packet seq {first.seq}: {exc}"))
            return 0
        # Each packet gets its own clock observation and offset, on its slice of the events: the
        # same times as decoding packet by packet, however the packets were batched.
        starts = decoder.packet_starts if joined else [(0, decoder.packet_start_time_ns)]
        ends = [*(begin for begin, _ in starts[1:]), len(events)]
        for header, (begin, sensor_start), end in zip(headers, starts, ends):
            sensor_start = None if sensor_start is None or sensor_start < 0 else int(sensor_start)
            self._to_image_clock(events[begin:end], header, sensor_start)
        if len(events):
            chunks.append(events)
        return int(odd > 0 or _problem_count(decoder) != before)

    def _to_image_clock(self, events: np.ndarray, header_ns: int, sensor_start: int | None) -> None:
        """Add the sensor-to-image offset to one packet's event times, in place, after feeding
        the clock its observation (a packet without events observes nothing, as before)."""
        if not len(events):
            return
        if self.clock.fixed_offset_ns is None:
            self.clock.update(header_ns, sensor_start if sensor_start is not None else int(events["t"][0]))
        events["t"] += self.clock.offset_ns


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
