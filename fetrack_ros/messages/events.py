"""Event messages -> decoded events in the image clock, for the node and bag readers alike.

Works on rclpy and rosbags messages (duck-typed on the fields) of the event inputs in
:data:`EVENT_MODES`. :class:`EventDecoding` keeps one stateful decoder per stream (encoding and
geometry), maps sensor time to image time (header stamps through
:class:`~fetrack_ros.events.ClockOffsetEstimator`, or a fixed offset) and reports each problem
as an :class:`EventInputError` with a diagnostics reason.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..events import EVENT_DTYPE, ClockOffsetEstimator, EventDecodeError, decode_legacy_arrays, make_decoder
from .cdr import PacketRecord, packet_record
from .stamps import stamp_to_ns

#: Event inputs that carry events: event_camera_msgs/EventPacket, dvs_msgs and prophesee_event_msgs EventArray.
EVENT_MODES = ("event_packet", "dvs_event_array", "prophesee_event_array")
#: A seq step larger than this is a producer restart, not lost packets (17 min at 1 kHz).
MAX_SEQ_GAP = 1_000_000


class EventInputError(ValueError):
    """An event message that was skipped; ``reason`` is its diagnostics key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class EventDecoding:
    """Stateful decoding of one event topic.

    ``clock``: ``"header"`` estimates the sensor-to-image clock offset from packet header stamps;
    ``"fixed"`` adds ``fixed_offset_ns`` to every event time.

    Besides the events it keeps, per stream (encoding and geometry), the last packet ``seq`` so
    that lost, repeated and reordered packets are seen, and :attr:`stream_time_ns`, the image-clock
    time up to which the stream is known (an EVT3 packet advances it by its time words even when
    it holds no event: a quiet scene still completes windows). :attr:`counts` accumulates every
    observation by diagnostics reason; skipped messages are returned as
    errors instead. Counted: ``events.out_of_geometry`` (events outside the packet's geometry,
    dropped by the decoder), ``events.lost_packets`` (missing ``seq`` numbers), ``events.seq_reset``
    (``seq`` stepping back or jumping: a producer restart), ``events.implausible_time`` (header
    clock: events further than the clock's jitter bound from their packet's stamp, dropped). Skip reasons: ``events.bad_geometry``,
    ``events.unknown_encoding``, ``events.malformed_packet``, ``events.duplicate_packet``,
    ``events.decoder_error``.
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
        self._last_seq: dict[tuple, tuple[int, int]] = {}  # stream key -> (seq, stamp ns) of its last packet
        self._seq_unnumbered: set[tuple] = set()  # streams whose producer leaves seq constant
        self.geometry: tuple[int, int] | None = None  # (height, width) of the last message
        self.restart_backward_ns = int(restart_backward_ns)
        self.restarts = 0  # header stamps jumping back (bag loop, camera restart): decoders reset
        self._last_header_ns: int | None = None
        self.stream_time_ns: int | None = None
        self.counts: Counter = Counter()

    def decode(self, msg) -> tuple[np.ndarray, bool]:
        """One message: ``(events, malformed)``; raises :class:`EventInputError` if it was skipped."""
        chunks, malformed, errors = self.decode_many([msg])
        if errors:
            raise errors[0]
        return (np.concatenate(chunks) if chunks else np.zeros(0, EVENT_DTYPE)), malformed > 0

    def decode_many(self, msgs) -> tuple[list[np.ndarray], int, list[EventInputError]]:
        """Decode messages in arrival order: ``(event arrays, malformed, errors)``.

        ``msgs``: :class:`~.cdr.PacketRecord` or EventPacket messages (event_packet mode), legacy
        EventArray messages otherwise. Event arrays are :data:`EVENT_DTYPE` with ``t`` in the image
        clock (ns). ``malformed`` counts decoder calls that met words or bytes they could not
        interpret (the events around them are kept); ``errors`` are the skipped messages, each with
        its diagnostics reason. Consecutive EVT3 packets of one stream are decoded in one call,
        their payloads joined (a packet's trailing odd byte dropped, as the per-packet decoder
        does): the same events as packet by packet, with one decoder call and one buffer append
        instead of ~30 per frame.
        """
        chunks: list[np.ndarray] = []
        errors: list[EventInputError] = []
        malformed = 0
        run: list = []
        for msg in msgs:
            if self.mode == "event_packet" and not isinstance(msg, PacketRecord):
                msg = packet_record(msg)
            height, width = int(msg.height), int(msg.width)
            if height < 1 or width < 1 or height > 0xFFFF or width > 0xFFFF:
                errors.append(EventInputError("events.bad_geometry", f"event message has geometry "
                                              f"{width}x{height}; expected 1..65535 pixels each"))
                continue
            key = (str(getattr(msg, "encoding", "")), height, width)
            header = msg.stamp_ns if isinstance(msg, PacketRecord) else stamp_to_ns(msg.header.stamp)
            restart = self._last_header_ns is not None and self._last_header_ns - header > self.restart_backward_ns
            if run and (restart or key != run[0][0] or key[0] != "evt3"):
                malformed += self._decode_run(run, chunks, errors)
                run = []
            if restart:  # EVT3 time cannot step back: a looping bag would decode 16.8 s ahead
                self.restarts += 1
                self._decoders.clear()
                self._last_seq.clear()
                self._seq_unnumbered.clear()
                self.clock.reset()
                self.stream_time_ns = None
            if isinstance(msg, PacketRecord) and self._is_duplicate(key, msg):
                errors.append(EventInputError("events.duplicate_packet", f"{key[0]} packet seq {msg.seq} stamped "
                                              f"{header} ns arrived twice; the copy was skipped"))
                continue
            self._last_header_ns = header
            self.geometry = (height, width)
            run.append((key, msg))
        if run:
            malformed += self._decode_run(run, chunks, errors)
        return chunks, malformed, errors

    def _is_duplicate(self, key: tuple, packet: PacketRecord) -> bool:
        """Track ``seq`` per stream: a repeat (same seq and stamp) is a duplicate; gaps and resets
        are counted. A producer that leaves ``seq`` constant (same seq, new stamps) is not judged."""
        if key in self._seq_unnumbered:
            return False
        last, current = self._last_seq.get(key), (packet.seq, packet.stamp_ns)
        if last == current:
            return True
        self._last_seq[key] = current
        if last is not None:
            gap = packet.seq - last[0]
            if gap == 0:
                self._seq_unnumbered.add(key)
            elif 1 < gap <= MAX_SEQ_GAP + 1:
                self.counts["events.lost_packets"] += gap - 1
            elif gap != 1:
                self.counts["events.seq_reset"] += 1
        return False

    def _decode_run(self, run, chunks: list, errors: list) -> int:
        """Decode messages of one stream key; append their events; return 1 if malformed else 0."""
        key, first = run[0]
        if self.mode != "event_packet":
            for _, msg in run:
                try:
                    events = _legacy_events(msg)
                except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                    errors.append(EventInputError("events.malformed_packet", f"{self.mode} message: {exc}"))
                    continue
                self._to_image_clock(events, stamp_to_ns(msg.header.stamp), None)
                if len(events):
                    chunks.append(events)
                    self._advance(int(events["t"].max()))
            return 0
        decoder = self._decoders.get(key)
        if decoder is None:
            try:
                decoder = self._decoders[key] = make_decoder(key[0], key[2], key[1])
            except (ValueError, ImportError) as exc:
                errors.extend(EventInputError("events.unknown_encoding", str(exc)) for _ in run)
                return 0
        headers = [packet.stamp_ns for _, packet in run]
        parts = [np.frombuffer(packet.payload, np.uint8) for _, packet in run]
        joined, odd = {}, 0
        if len(parts) > 1:  # one EVT3 call; each packet's trailing odd byte dropped, as packet by packet
            odd = sum(len(part) % 2 for part in parts)
            joined["packet_offsets"] = np.cumsum([len(part) // 2 for part in parts])[:-1]  # words
            parts = [part[:len(part) // 2 * 2] for part in parts]
        before = _problem_count(decoder)
        outside = getattr(getattr(decoder, "stats", None), "out_of_geometry", 0)
        try:
            decoded = decoder.decode(parts[0] if len(parts) == 1 else np.concatenate(parts), first.time_base,
                                     **joined)
        except EventDecodeError as exc:
            errors.append(EventInputError("events.malformed_packet", f"{key[0]} packet seq {first.seq}: {exc}"))
            return 0
        except Exception as exc:  # a decoder bug must cost one packet, not the node
            errors.append(EventInputError("events.decoder_error", f"{key[0]} packet seq {first.seq}: decoder "
                                          f"failed with {type(exc).__name__}: {exc}"))
            return 0
        outside = getattr(getattr(decoder, "stats", None), "out_of_geometry", 0) - outside
        if outside:
            self.counts["events.out_of_geometry"] += outside
        # Each packet gets its own clock observation and offset, on its slice of the events: the
        # same times as decoding packet by packet, however the packets were batched.
        events, starts = decoded.events, decoded.packet_starts
        ends = [*(begin for begin, _ in starts[1:]), len(events)]
        plausible = None
        for header, (begin, sensor_start), end in zip(headers, starts, ends):
            sensor_start = None if sensor_start < 0 else int(sensor_start)
            self._to_image_clock(events[begin:end], header, sensor_start)
            if self.clock.fixed_offset_ns is None and end > begin:
                # A driver stamps a packet when it starts: its events lie within the clock's jitter
                # bound of that stamp. Far from it they come from damaged time words: drop them,
                # or one garbage packet would put the stream (and the buffer) minutes ahead.
                far = np.abs(events["t"][begin:end] - header) > self.clock.reset_jump_ns
                if far.any():
                    plausible = np.ones(len(events), bool) if plausible is None else plausible
                    plausible[begin:end] = ~far
        if plausible is not None:
            self.counts["events.implausible_time"] += len(events) - int(np.count_nonzero(plausible))
            events = events[plausible]
        # how far the stream has got: the decoder's time after the packets (EVT3 time words
        # count even without events), else the newest event; never beyond plausibility
        reached = getattr(decoder, "time_ns", None)
        if reached is not None and self.clock.offset_ns is not None:
            reached += self.clock.offset_ns
            if self.clock.fixed_offset_ns is None and abs(reached - headers[-1]) > self.clock.reset_jump_ns:
                reached = None
        if reached is None and len(events):
            reached = int(events["t"].max())
        if reached is not None:
            self._advance(reached)
        if len(events):
            chunks.append(events)
        return int(odd > 0 or _problem_count(decoder) != before)

    def _advance(self, time_ns: int) -> None:
        """The stream reached ``time_ns``: it only moves forward, except by a jump back of more than
        a restart, which it follows (a garbage time word must not hold it in the future)."""
        if (self.stream_time_ns is None or time_ns > self.stream_time_ns
                or self.stream_time_ns - time_ns > self.restart_backward_ns):
            self.stream_time_ns = time_ns

    def _to_image_clock(self, events: np.ndarray, header_ns: int, sensor_start: int | None) -> None:
        """Add the sensor-to-image offset to one packet's event times, in place, after feeding
        the clock its observation (a packet without events observes nothing here)."""
        if not len(events):
            return
        if self.clock.fixed_offset_ns is None:
            first = int(events["t"][0])
            estimate = self.clock.offset_ns
            if sensor_start is None or (estimate is not None and
                                        abs(header_ns - sensor_start - estimate) > self.clock.reset_jump_ns):
                # no start, or a start the clock would reject (the time before this packet was
                # damaged): the packet's own first event is the sane reference
                sensor_start = first
            self.clock.update(header_ns, sensor_start)
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
