"""Prophesee EVT 3.0 decoding (what metavision_driver publishes), vectorised with numpy.

EVT 3.0 is a stream of little-endian 16-bit words; the top 4 bits are the word type:

=====  ============  ==========================================================
code   name          payload (bits)
=====  ============  ==========================================================
0x0    ADDR_Y        y = 0..10 (bit 11, the system type, is ignored)
0x2    ADDR_X        x = 0..10, polarity = 11: one CD event at the current y, time
0x3    VECT_BASE_X   x = 0..10, polarity = 11: base of the following vectors
0x4    VECT_12       12-bit mask: events at base + i for set bits i, then base += 12
0x5    VECT_8        8-bit mask (bits 0..7): same, then base += 8
0x6    TIME_LOW      low 12 bits of the 24-bit microsecond time
0x8    TIME_HIGH     high 12 bits; the 24-bit time wraps every 2^24 us
0xA    EXT_TRIGGER   edge = bit 0, id = bits 8..11 (bits 1..7 ignored)
0x7, 0xE, 0xF        CONTINUED_4, OTHERS, CONTINUED_12: ignored (counted)
0x1, 0x9, 0xB..0xD   unsupported (counted; see ``strict``)
=====  ============  ==========================================================

:class:`Evt3Decoder` reproduces event_camera_codecs 2.0.0 / event_camera_py 2.0.1 (the oracle
described in ``test/fixtures/README.md``, ``evt3/``) event for event, with these
deliberate differences:

* times are int64 **nanoseconds** (the oracle's microseconds x 1000), never wrapping; the
  oracle's event_camera_py stores CD times as int32 microseconds, which wrap after ~35.8 min;
* unsupported codes are skipped and counted and decoding goes on (the oracle raises
  ``RuntimeError`` and loses the rest of the packet). With ``strict=True`` the decoder instead
  raises :class:`EventDecodeError` at the first unsupported word, carrying the events and
  triggers decoded before it (``.events``, ``.triggers``), which is the oracle's behaviour;
* the trigger counters are named for what they count (``triggers_rising`` = edge 1); the
  oracle's ``get_num_trigger_rising()`` counts edge 0;
* everything the oracle skips silently is counted in :class:`Evt3Stats` (words before
  synchronisation, out-of-geometry events, ignored words, odd trailing bytes, rollovers).
  Geometry keying (one decoder state per ``(encoding, width, height)``, as in event_camera_py)
  is done by the caller: :class:`~fetrack_ros.messages.events.EventDecoding` in the package.

``infer_time_high=True`` also reads the EVT3 dialect written by expelliarmus 1.1.12 (one
``TIME_HIGH``, then time advancing through ``TIME_LOW`` wrap-arounds), which the oracle misreads.

How it is vectorised: long inputs are cut into cache-sized slices; in each, the words are split
by code into event words (ADDR_X, vectors) and state words. The time and y in effect after each
state word come from forward fills over the state words (``np.cumsum`` of a mask gives, per
word, the index of the latest value), rollovers from a cumulative sum over the ``TIME_HIGH``
steps; the k-th event word at position ``e`` takes the state of state word ``e - k``. Vector
words are expanded with ``np.repeat`` and a 12-column bit matrix. Only the small state (time
high with rollovers, time low, y, vector base and polarity, synchronised or not) is carried
between calls, so decoding a byte stream whole or cut into packets at any word gives the same
events (after synchronisation; a live node may therefore decode several packets at once).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_types import EVENT_DTYPE, TRIGGER_DTYPE, EventDecodeError

ADDR_Y, ADDR_X, VECT_BASE_X, VECT_12, VECT_8 = 0x0, 0x2, 0x3, 0x4, 0x5
TIME_LOW, CONTINUED_4, TIME_HIGH, EXT_TRIGGER, OTHERS, CONTINUED_12 = 0x6, 0x7, 0x8, 0xA, 0xE, 0xF
IGNORED_CODES = (CONTINUED_4, OTHERS, CONTINUED_12)
UNSUPPORTED_CODES = (0x1, 0x9, 0xB, 0xC, 0xD)
ROLLOVER_MIN_BACKSTEP = 10  # TIME_HIGH lower by more than this (12-bit units) is a 2^24 us wrap
US_TO_NS = 1000

_POPCOUNT_12 = np.array([bin(v).count("1") for v in range(4096)], dtype=np.int64)
_BIT_12 = np.arange(12, dtype=np.uint16)
_NO_TRIGGERS = np.zeros(0, TRIGGER_DTYPE)


@dataclass(frozen=True)
class DecodedPacket:
    """What one ``decode`` call of an EventPacket decoder (EVT3, mono, libcaer) returns.

    ``events``: the CD events, :data:`EVENT_DTYPE`, shape ``(N,)``, ``t`` in sensor-time ns.
    ``triggers``: the external triggers of the same bytes, :data:`TRIGGER_DTYPE`, shape ``(M,)``,
    ``t`` in ns (empty for encodings without triggers).
    ``packet_starts``: int64, shape ``(P, 2)``, one row per packet of the call (``P = 1 +
    len(packet_offsets)``): the index in ``events`` of the packet's first event, and the sensor
    time (ns) in effect when the packet began, -1 for a packet that began before the stream
    synchronised. The start time is what :class:`~.clock.ClockOffsetEstimator` pairs with the
    packet's header stamp.
    """

    events: np.ndarray
    triggers: np.ndarray
    packet_starts: np.ndarray

    @property
    def start_time_ns(self) -> int | None:
        """Sensor time (ns) when the (first) packet began; None before synchronisation."""
        start = int(self.packet_starts[0, 1])
        return None if start < 0 else start


def one_packet(events: np.ndarray, start_time_ns: int | None, triggers: np.ndarray = _NO_TRIGGERS) -> DecodedPacket:
    """A :class:`DecodedPacket` of a single packet that began at ``start_time_ns`` (None: unknown)."""
    start = -1 if start_time_ns is None else int(start_time_ns)
    return DecodedPacket(events, triggers, np.array([[0, start]], np.int64))


@dataclass
class Evt3Stats:
    """Cumulative counters of an :class:`Evt3Decoder` (reset only by ``reset(counters=True)``)."""

    words: int = 0              # 16-bit words received
    events_on: int = 0          # CD events returned with p = 1
    events_off: int = 0         # CD events returned with p = 0
    triggers_rising: int = 0    # EXT_TRIGGER with edge = 1
    triggers_falling: int = 0   # EXT_TRIGGER with edge = 0
    unsynced_words: int = 0     # non-time words skipped before the first TIME_HIGH+TIME_LOW pair
    out_of_geometry: int = 0    # CD events dropped: x >= width or y >= height
    ignored_words: int = 0      # OTHERS, CONTINUED_4, CONTINUED_12
    unsupported_words: int = 0  # codes 0x1, 0x9, 0xB, 0xC, 0xD (skipped, or raised when strict)
    odd_bytes: int = 0          # trailing odd bytes dropped (a packet ends inside a word)
    rollovers: int = 0          # 2^24 us time wraps
    time_high_backsteps: int = 0  # TIME_HIGH lower by 1..10: time stepped back, no wrap
    inferred_time_high_steps: int = 0  # TIME_LOW wrap-arounds taken as +4096 us (infer_time_high)


def as_words(data, stats=None) -> np.ndarray:
    """View ``bytes``/``bytearray``/``memoryview``/uint8 or uint16 array data as little-endian words.

    A trailing odd byte is dropped (counted in ``stats.odd_bytes`` when given).
    """
    if isinstance(data, np.ndarray):
        if data.dtype == np.uint16 and data.ndim == 1:
            return data.astype("<u2", copy=False)
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(f"event data array must be 1-D uint8 (bytes) or uint16 (words), got "
                            f"{data.dtype} with shape {data.shape}")
        raw = np.ascontiguousarray(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = np.frombuffer(data, dtype=np.uint8)
    else:
        raise TypeError(f"event data must be bytes, bytearray, memoryview or a numpy array, got "
                        f"{type(data).__name__}")
    if len(raw) % 2 and stats is not None:
        stats.odd_bytes += 1
    return raw[:len(raw) // 2 * 2].view("<u2")


_NO_WORDS = np.zeros(0, np.int64)
_FIRST_WORD = np.zeros(1, np.int64)


def _fill(table: np.ndarray, is_state: np.ndarray) -> np.ndarray:
    """Per word, the value of the latest state word at or before it (a forward fill).

    ``table[0]`` is the value carried in from before these words, ``table[k]`` the value set by
    the k-th state word (``is_state`` marks them).
    """
    return table.take(np.cumsum(is_state, dtype=np.int32))


class Evt3Decoder:
    """Stateful EVT 3.0 decoder for one sensor geometry.

    ``decode(data)`` takes one packet (``bytes``-like or a uint8/uint16 numpy array) and returns
    a :class:`DecodedPacket`: its CD events (``t`` = sensor time in ns: ``rollovers * 2^24 us +
    24-bit time``, counting rollovers from the decoder's creation or last ``reset()``), the
    external triggers of the same bytes and the packet's start time. Packets must be given in
    order and none skipped: y, time and vector state carry over, and a packet may end on any word.

    Until a ``TIME_HIGH`` followed by a ``TIME_LOW`` has been seen *within one call*, every
    other word is skipped (``stats.unsynced_words``), as the reference decoder does.
    Events with ``x >= width`` or ``y >= height`` are dropped (``stats.out_of_geometry``).

    ``strict``: raise :class:`EventDecodeError` at an unsupported word (see module docstring).
    ``infer_time_high``: for streams whose encoder writes ``TIME_HIGH`` only once and lets time
    advance through ``TIME_LOW`` wrapping around (expelliarmus 1.1.12 writes EVT3 that way):
    a ``TIME_LOW`` below the previous ``TIME_LOW``, with no ``TIME_HIGH`` between them, advances
    the time high by one step (4096 us). Off by default, as in the reference decoder, where a
    decreasing ``TIME_LOW`` moves time backwards.
    """

    CHUNK_WORDS = 1 << 16  # long inputs are decoded in slices of this many words (cache-sized)

    def __init__(self, width: int, height: int, *, strict: bool = False,
                 infer_time_high: bool = False) -> None:
        if not (0 < int(width) <= 0xFFFF and 0 < int(height) <= 0xFFFF):
            raise ValueError(f"EVT3 sensor geometry must be 1..65535 pixels, got width={width}, "
                             f"height={height}")
        self.width, self.height = int(width), int(height)
        self.strict, self.infer_time_high = bool(strict), bool(infer_time_high)
        self.stats = Evt3Stats()
        self.reset()

    def reset(self, counters: bool = False) -> None:
        """Forget the stream state (as a new decoder would); with ``counters`` also zero ``stats``."""
        self._synced = False
        self._high = 0          # time high in 4096 us steps, rollovers included (24-bit wrap = 4096)
        self._low = 0           # TIME_LOW, us
        self._low_last = False  # the latest time word was a TIME_LOW (for infer_time_high)
        self._y = 0
        self._base = 0          # vector base x (uint16 arithmetic, as in the reference)
        self._vpol = 0
        if counters:
            self.stats = Evt3Stats()

    @property
    def synchronised(self) -> bool:
        """True once a TIME_HIGH + TIME_LOW pair has been seen."""
        return self._synced

    @property
    def time_ns(self) -> int | None:
        """Current sensor time (ns), or None before synchronisation."""
        return ((self._high << 12) | self._low) * US_TO_NS if self._synced else None

    def decode(self, data, time_base: int = 0, packet_offsets=()) -> DecodedPacket:
        """Decode one packet: its events, triggers and start time (:class:`DecodedPacket`).

        ``time_base`` (EventPacket.time_base) is ignored, as by the reference: EVT3 carries
        its own time.

        A packet's start time is the sensor time in effect when it began (the time before it,
        or its synchronising time pair; -1 / None while unsynchronised): the sensor-side time to
        pair with the packet's header stamp in :class:`ClockOffsetEstimator`.

        ``packet_offsets``: when ``data`` is several consecutive packets joined (one call instead
        of one per packet), the word offsets (ascending, > 0) at which the second, third, ...
        packet begin. ``packet_starts`` of the result then has one row per packet, so the
        packets' events and clock observations stay apart.
        """
        words = as_words(data, self.stats)
        self.stats.words += len(words)
        start = 0
        if not self._synced:
            start = self._synchronise(words)
        # Per packet [first event index, start time ns or -1]. Packets that begin inside the
        # synchronised words are filled in chunk by chunk below.
        now = -1 if self.time_ns is None else self.time_ns
        if len(packet_offsets):
            boundaries = np.concatenate([[0], np.asarray(packet_offsets, np.int64)])
            packet_starts = np.zeros((len(boundaries), 2), np.int64)
            # Packets before the one that synchronises the stream have no start time; that one
            # starts at the synchronising time pair, as when decoded alone.
            synchronising = int(np.searchsorted(boundaries, start, side="right")) - 1
            packet_starts[:, 1] = np.where(np.arange(len(boundaries)) >= synchronising, now, -1)
        else:
            boundaries, packet_starts = _FIRST_WORD, np.array([[0, now]], np.int64)
        words = words[start:]
        if not len(words):
            return DecodedPacket(np.zeros(0, EVENT_DTYPE), _NO_TRIGGERS, packet_starts)
        # Slices of CHUNK_WORDS keep every temporary cache-sized. The output is allocated once
        # for one event per word (only the pages written become resident) and grown only when
        # vector words expand past that.
        events = np.empty(len(words), EVENT_DTYPE)
        filled, triggers = 0, []
        for i in range(0, len(words), self.CHUNK_WORDS):
            chunk = words[i:i + self.CHUNK_WORDS]
            codes = chunk >> 12
            histogram = np.bincount(codes, minlength=16)  # words per code, one pass
            self.stats.ignored_words += int(histogram[list(IGNORED_CODES)].sum())
            bad = int(histogram[list(UNSUPPORTED_CODES)].sum())
            self.stats.unsupported_words += bad
            first_bad = None
            if bad and self.strict:
                first_bad = int(np.argmax(np.isin(codes, UNSUPPORTED_CODES)))
                bad_code = int(codes[first_bad])
                chunk, codes = chunk[:first_bad], codes[:first_bad]
                histogram = np.bincount(codes, minlength=16)
            needed = int(histogram[ADDR_X] + 12 * histogram[VECT_12] + 8 * histogram[VECT_8])
            if filled + needed > len(events):
                grown = np.empty(max(2 * len(events), filled + needed), EVENT_DTYPE)
                grown[:filled] = events[:filled]
                events = grown
            if len(chunk) and len(boundaries) == 1:  # one packet: nothing to split
                filled, part_triggers, _ = self._decode_synced(chunk, codes, histogram, events, filled, _NO_WORDS)
            elif len(chunk):
                inside = (boundaries >= start + i) & (boundaries < start + i + len(chunk))
                inside[0] = False  # the first packet's start is known already
                filled, part_triggers, packet_starts[inside] = self._decode_synced(
                    chunk, codes, histogram, events, filled, boundaries[inside] - (start + i))
                packet_starts[boundaries >= start + i + len(chunk)] = (filled, self.time_ns)
            if len(chunk) and len(part_triggers):
                triggers.append(part_triggers)
            if first_bad is not None:
                break
        events = events[:filled]
        triggers = (_NO_TRIGGERS if not triggers else triggers[0] if len(triggers) == 1
                    else np.concatenate(triggers))
        if first_bad is not None:
            error = EventDecodeError(
                f"EVT3 word {start + i + first_bad} of the packet has unsupported code "
                f"0x{bad_code:X} (supported: 0x0, 0x2-0x8, 0xA, 0xE, 0xF); the {len(events)} "
                f"events before it were decoded (error.events), the rest of the packet was dropped")
            error.events, error.triggers = events, triggers
            raise error
        return DecodedPacket(events, triggers, packet_starts)

    # ------------------------------------------------------------------ internals
    def _time_after(self, time_words: np.ndarray) -> np.ndarray:
        """Sensor time (us) after each of successive TIME_HIGH/TIME_LOW words; updates the state.

        The time high ``H`` (4096 us steps, rollovers included) changes by ``d = value -
        (H mod 4096)`` at a TIME_HIGH, plus 4096 (one 2^24 us rollover) when ``d < -10``, as in
        the reference decoder; with ``infer_time_high`` also by +1 at a TIME_LOW below the
        previous TIME_LOW. ``H mod 4096`` before a TIME_HIGH is the previous TIME_HIGH value
        plus the inferred steps since, so all steps are found without a loop.
        """
        values = (time_words & 0xFFF).astype(np.int64)
        is_high = (time_words >> 12) == TIME_HIGH
        is_low = ~is_high
        lows = np.empty(len(values) - int(np.count_nonzero(is_high)) + 1, np.int64)
        lows[0] = self._low
        lows[1:] = values[is_low]
        low_index = np.cumsum(is_low)
        low_after = lows[low_index]
        highs = np.flatnonzero(is_high)
        low_was_last_before = self._low_last
        self._low, self._low_last = int(low_after[-1]), bool(is_low[-1])
        if not len(highs) and not self.infer_time_high:  # the common case: TIME_LOW words only
            return low_after | (self._high << 12)
        step = np.zeros(len(values), np.int64)
        if self.infer_time_high:
            low_before = lows[low_index - is_low]
            low_was_last = np.concatenate([[low_was_last_before], is_low[:-1]])
            step[is_low & low_was_last & (values < low_before)] = 1
            self.stats.inferred_time_high_steps += int(np.count_nonzero(step))
        if len(highs):
            previous = np.empty(len(highs), np.int64)
            previous[0] = self._high
            previous[1:] = values[highs[:-1]]
            if self.infer_time_high:
                steps_so_far = np.cumsum(step)
                previous[0] += steps_so_far[highs[0]]
                previous[1:] += steps_so_far[highs[1:]] - steps_so_far[highs[:-1]]
            d = values[highs] - (previous & 0xFFF)
            wrap = d < -ROLLOVER_MIN_BACKSTEP
            self.stats.rollovers += int(np.count_nonzero(wrap))
            self.stats.time_high_backsteps += int(np.count_nonzero(d < 0)) - int(np.count_nonzero(wrap))
            step[highs] = d + (wrap << 12)
        high_after = self._high + np.cumsum(step)
        self._high = int(high_after[-1])
        return (high_after << 12) | low_after

    def _synchronise(self, words: np.ndarray) -> int:
        """Skip to just after the first TIME_HIGH ... TIME_LOW pair of this call.

        As in the reference, time words on the way update the time state (rollovers included).
        Returns the index of the first word after the pair, or ``len(words)`` when there is
        none in this call.
        """
        stop = len(words)
        first_high = None
        for i in range(0, len(words), self.CHUNK_WORDS):  # blockwise: the pair is usually early
            is_high = (words[i:i + self.CHUNK_WORDS] >> 12) == TIME_HIGH
            if first_high is None and np.any(is_high):
                first_high = i + int(np.argmax(is_high))
            if first_high is not None:
                block_start = max(first_high + 1, i)
                is_low = (words[block_start:i + self.CHUNK_WORDS] >> 12) == TIME_LOW
                if np.any(is_low):
                    stop = block_start + int(np.argmax(is_low)) + 1
                    self._synced = True
                    break
        codes = words[:stop] >> 12
        head_codes = codes[:stop]
        time_words = np.compress((head_codes == TIME_HIGH) | (head_codes == TIME_LOW), words[:stop])
        if len(time_words):
            self._time_after(time_words)
        self.stats.unsynced_words += stop - len(time_words)
        return stop

    def _decode_synced(self, words: np.ndarray, codes: np.ndarray, histogram: np.ndarray,
                       out: np.ndarray, filled: int, boundaries: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """Decode words of a synchronised stream into ``out[filled:]``; update the carried state.

        Returns the new fill level of ``out``, the triggers and, for each word index in
        ``boundaries`` (ascending), ``[index in out of the first event from that word on, time
        in effect there (ns)]``.

        Words split into event words (ADDR_X, VECT_12, VECT_8) and the others ("state" words:
        ADDR_Y, time, VECT_BASE_X, triggers, ignored). The y and time in effect are computed
        per state word (a forward fill over that shorter sequence); the k-th event word, at
        position ``e_k``, then takes the values of the state word just before it, which is
        state word number ``e_k - k`` (a gather, no search).
        """
        is_event = codes == ADDR_X
        has_vectors = bool(histogram[VECT_12] or histogram[VECT_8])
        if has_vectors:
            is_event |= (codes == VECT_12) | (codes == VECT_8)
        event_pos = np.flatnonzero(is_event)
        state_pos = np.flatnonzero(~is_event)
        state_words = words.take(state_pos)
        state_codes = state_words >> 12
        # state words before each event word: index into the tables below (0 = carried state)
        table_index = event_pos - np.arange(len(event_pos))

        now = ((self._high << 12) | self._low) * US_TO_NS
        time_table = np.empty(len(state_pos) + 1, np.int64)
        time_table[0] = now
        is_time = (state_codes == TIME_LOW) | (state_codes == TIME_HIGH)
        time_words = np.compress(is_time, state_words)
        if len(time_words):
            after = np.empty(len(time_words) + 1, np.int64)
            after[0] = now
            np.multiply(self._time_after(time_words), US_TO_NS, out=after[1:])
            time_table[1:] = _fill(after, is_time)
        else:
            time_table[1:] = now
        y_table = np.empty(len(state_pos) + 1, np.uint16)
        y_table[0] = self._y
        is_y = state_codes == ADDR_Y
        y_words = np.compress(is_y, state_words)
        if len(y_words):
            after = np.empty(len(y_words) + 1, np.uint16)
            after[0] = self._y
            np.bitwise_and(y_words, 0x7FF, out=after[1:])
            y_table[1:] = _fill(after, is_y)
            self._y = int(after[-1])
        else:
            y_table[1:] = self._y

        triggers = (self._triggers(state_words, state_codes, time_table) if histogram[EXT_TRIGGER]
                    else _NO_TRIGGERS)
        event_y = y_table.take(table_index)
        event_t = time_table.take(table_index)
        # events (before the geometry filter) from the event words before each boundary
        at_boundaries = np.empty((len(boundaries), 2), np.int64)
        if len(boundaries):
            at_boundaries[:, 1] = time_table.take(np.searchsorted(state_pos, boundaries))
            events_before = np.searchsorted(event_pos, boundaries)
        if has_vectors or histogram[VECT_BASE_X]:
            x, counts, pol = self._expand_vectors(words, codes, event_pos)
            if len(boundaries):
                events_before = np.concatenate([[0], np.cumsum(counts)]).take(events_before)
            first = filled
            filled, kept = self._pack(x, np.repeat(event_y, counts), np.repeat(event_t, counts), pol,
                                      out, filled)
        else:
            xw = words.take(event_pos)
            first = filled
            filled, kept = self._pack(xw & 0x7FF, event_y, event_t, (xw >> 11) & 1, out, filled)
        if len(boundaries):
            if kept is not None:  # out-of-geometry events were dropped
                events_before = np.concatenate([[0], np.cumsum(kept)]).take(events_before)
            at_boundaries[:, 0] = first + events_before
        return filled, triggers, at_boundaries

    def _triggers(self, state_words, state_codes, time_table) -> np.ndarray:
        """EXT_TRIGGER words among the state words; ``time_table[j + 1]`` = time at state word j."""
        positions = np.flatnonzero(state_codes == EXT_TRIGGER)
        triggers = np.zeros(len(positions), TRIGGER_DTYPE)
        if len(positions):
            tw = state_words[positions]
            triggers["t"] = time_table[positions + 1]
            triggers["edge"] = tw & 1
            triggers["id"] = (tw >> 8) & 0xF
            rising = int(np.count_nonzero(triggers["edge"]))
            self.stats.triggers_rising += rising
            self.stats.triggers_falling += len(tw) - rising
        return triggers

    def _expand_vectors(self, words, codes, positions):
        """x and polarity of every event of the ADDR_X/VECT_12/VECT_8 words at ``positions``.

        Returns ``(x, counts, polarity)`` with ``counts`` = events per word, for np.repeat.
        """
        ew = words[positions]
        is_vec = (ew >> 12) != ADDR_X
        vec_pos = positions[is_vec]
        vec_words = ew[is_vec]
        is_v12 = (vec_words >> 12) == VECT_12
        # vector base: the last VECT_BASE_X before each vector word plus the advances since
        base_pos = np.flatnonzero(codes == VECT_BASE_X)
        base_words = words[base_pos]
        base_x = np.concatenate([[self._base], base_words & 0x7FF]).astype(np.int64)
        base_pol = np.concatenate([[self._vpol], (base_words >> 11) & 1]).astype(np.uint8)
        advanced = np.zeros(len(vec_words) + 1, np.int64)  # advance before vector word j
        np.cumsum(np.where(is_v12, 12, 8), out=advanced[1:])
        advanced_at_base = np.concatenate([[0], advanced[np.searchsorted(vec_pos, base_pos)]])
        base_of_vec = np.searchsorted(base_pos, vec_pos)  # index into base_x (0 = carried state)
        vec_base = (base_x[base_of_vec] + advanced[:-1] - advanced_at_base[base_of_vec]) & 0xFFFF
        self._base = int((base_x[-1] + advanced[-1] - advanced_at_base[-1]) & 0xFFFF)
        self._vpol = int(base_pol[-1])

        base = (ew & 0x7FF).astype(np.int64)
        pol = ((ew >> 11) & 1).astype(np.uint8)
        mask = np.ones(len(ew), np.int64)
        base[is_vec] = vec_base
        pol[is_vec] = base_pol[base_of_vec]
        vec_masks = vec_words & np.where(is_v12, 0xFFF, 0xFF).astype(np.uint16)
        mask[is_vec] = vec_masks
        counts = _POPCOUNT_12[mask]
        x = np.repeat(base, counts)
        _, bit = np.nonzero((vec_masks[:, None] >> _BIT_12) & 1)  # row-major: word order, bit asc.
        from_vec = np.repeat(is_vec, counts)
        x[from_vec] = (x[from_vec] + bit) & 0xFFFF
        return x, counts, np.repeat(pol, counts)

    def _pack(self, x, y, t, p, out: np.ndarray, filled: int) -> tuple[int, np.ndarray | None]:
        """Drop events outside the geometry, count polarities, write to ``out[filled:]``.

        Returns the new fill level and the keep mask (None when every event was kept)."""
        keep = None
        if len(x) and (x.max() >= self.width or y.max() >= self.height):
            keep = (x < self.width) & (y < self.height)
            self.stats.out_of_geometry += len(x) - int(np.count_nonzero(keep))
            x, y, t, p = x[keep], y[keep], t[keep], p[keep]
        events = out[filled:filled + len(x)]
        events["x"], events["y"], events["t"], events["p"] = x, y, t, p
        on = int(np.count_nonzero(p))
        self.stats.events_on += on
        self.stats.events_off += len(x) - on
        return filled + len(x), keep
