"""EVT 3.0 encoding of event arrays (for converters, demo bags and tests).

``encode_evt3(events, triggers)`` writes one little-endian word stream that
:class:`~fetrack_ros.events.evt3.Evt3Decoder` (and event_camera_codecs) decode back to the same
events in the same order:

* the stream starts with ``TIME_HIGH`` + ``TIME_LOW``; afterwards ``TIME_HIGH`` is written when
  the high 12 bits of the microsecond time change (plus intermediate ``TIME_HIGH`` words when
  it would advance by more than 2048 steps, so that no 2^24 us rollover is missed), and
  ``TIME_LOW`` when the time changes; ``ADDR_Y`` when y differs from the last written y;
* with ``vectors=True`` (default) a run of consecutive events with the same time, y and
  polarity, increasing x and steps below 12 pixels becomes ``VECT_BASE_X`` + ``VECT_12`` words
  (a last block within 8 pixels as ``VECT_8``); other events become ``ADDR_X``;
* triggers (:data:`TRIGGER_DTYPE`) are ``EXT_TRIGGER`` words placed after the CD events of the
  same microsecond.

Times are floored to microseconds. A decoder counts rollovers from 0, so a stream whose first
time is at or beyond 2^24 us decodes to ``t - 2^24 us * (t_first // 2^24 us)``.

``time_high_updates=False`` writes the dialect that expelliarmus 1.1.12 writes and reads: one
``TIME_HIGH`` at the start, then time advances only through ``TIME_LOW`` wrapping around, with
extra ``TIME_LOW`` words inserted so that consecutive ``TIME_LOW`` words are < 4096 us apart.
Standard decoders misread it; ``Evt3Decoder(..., infer_time_high=True)`` reads it.
"""
from __future__ import annotations

import numpy as np

from .event_types import TRIGGER_DTYPE, as_event_array
from .evt3 import (ADDR_X, ADDR_Y, EXT_TRIGGER, TIME_HIGH, TIME_LOW, US_TO_NS, VECT_8, VECT_12,
                   VECT_BASE_X)

MAX_HIGH_STEP = 2048  # TIME_HIGH advances by at most this many 4096 us steps per word


def encode_evt3(events: np.ndarray, triggers: np.ndarray | None = None, *, vectors: bool = True,
                time_high_updates: bool = True, previous_t: int | None = None) -> bytes:
    """Encode events (and optional triggers) as EVT 3.0 bytes; see the module docstring.

    ``previous_t`` (ns): the time of the last event of earlier payloads of the same stream, for a
    payload that continues a stream (one packet of many). A decoder keeps its rollover count
    across payloads and only sees a 2^24 us rollover as a ``TIME_HIGH`` that goes down, so the
    payload then starts with the intermediate ``TIME_HIGH`` words that carry it across every
    rollover since ``previous_t``, before its own time pair. ``None``: a stream of its own.

    Raises ``ValueError`` for times that decrease or are negative, or x/y/trigger id outside
    the EVT3 fields (x, y < 2048; id < 16), or a ``previous_t`` later than the first event.
    """
    events = as_event_array(events)
    triggers = np.zeros(0, TRIGGER_DTYPE) if triggers is None else triggers
    ev_t = np.asarray(events["t"], np.int64) // US_TO_NS
    tr_t = np.asarray(triggers["t"], np.int64) // US_TO_NS
    x = np.asarray(events["x"], np.int64)
    y = np.asarray(events["y"], np.int64)
    p = (np.asarray(events["p"]) != 0).astype(np.int64)
    _check(ev_t, "events")
    _check(tr_t, "triggers")
    if len(events) and (x.max() > 0x7FF or y.max() > 0x7FF):
        raise ValueError("EVT3 encodes x and y in 11 bits: values must be < 2048, got max "
                         f"x={x.max()}, y={y.max()}")
    if len(triggers) and np.asarray(triggers["id"]).max() > 0xF:
        raise ValueError(f"EVT3 trigger id has 4 bits: must be < 16, got {triggers['id'].max()}")
    if not len(events) and not len(triggers):
        return b""
    first_us = min(int(t[0]) for t in (ev_t, tr_t) if len(t))
    previous_us = None if previous_t is None else int(previous_t) // US_TO_NS
    if previous_us is not None and (previous_us > first_us or not time_high_updates):
        raise ValueError(f"previous_t={previous_t} ns must not be later than the first event "
                         f"({first_us * US_TO_NS} ns) and needs time_high_updates=True")

    # units: a CD run (vector group or single event) or one trigger, in time order
    run_start = _runs(ev_t, x, y, p) if vectors else np.arange(len(ev_t))
    run_len = np.diff(np.append(run_start, len(ev_t)))
    unit_t = np.concatenate([ev_t[run_start], tr_t])
    unit_kind = np.concatenate([np.zeros(len(run_start), np.int8), np.ones(len(tr_t), np.int8)])
    order = np.lexsort((unit_kind, unit_t))  # stable: CD before triggers of the same time
    unit_t, unit_kind = unit_t[order], unit_kind[order]
    unit_ref = np.concatenate([np.arange(len(run_start)), np.arange(len(tr_t))])[order]
    is_cd = unit_kind == 0
    n = len(unit_t)

    # time words before each unit
    prev_t = np.empty(n, np.int64)
    prev_t[0] = -1
    prev_t[1:] = unit_t[:-1]
    new_time = unit_t != prev_t
    high, prev_high = unit_t >> 12, prev_t >> 12
    if time_high_updates:
        write_high = new_time & (high != prev_high)
        write_high[0] = True
        extra_high = np.zeros(n, np.int64)
        extra_high[1:] = np.maximum(0, (high[1:] - prev_high[1:] - 1) // MAX_HIGH_STEP)
        if previous_us is not None:  # continuing a stream: steps from the previous payload's time
            prev_high[0] = previous_us >> 12
            extra_high[0] = max(0, (int(high[0]) - int(prev_high[0]) - 1) // MAX_HIGH_STEP)
        extra_low = np.zeros(n, np.int64)
    else:
        write_high = np.zeros(n, bool)
        write_high[0] = True
        extra_high = np.zeros(n, np.int64)
        extra_low = np.zeros(n, np.int64)
        extra_low[1:] = np.maximum(0, (unit_t[1:] - prev_t[1:] - 1) // 4095)
    # y of CD units: written when it differs from the last CD unit's y
    cd_y = y[run_start][unit_ref[is_cd]]
    write_y = np.zeros(n, bool)
    write_y[is_cd] = np.concatenate([[True], cd_y[1:] != cd_y[:-1]]) if len(cd_y) else []

    # event words per unit
    body = np.ones(n, np.int64)
    cd_len = run_len[unit_ref[is_cd]]
    cd_start = run_start[unit_ref[is_cd]]
    span = x[cd_start + cd_len - 1] - x[cd_start]
    body[is_cd] = np.where(cd_len > 1, 1 + span // 12 + 1, 1)

    if time_high_updates:
        head = extra_high + write_high + new_time
    else:
        head = write_high + extra_low + new_time
    count = head + write_y + body
    offset = np.zeros(n + 1, np.int64)
    np.cumsum(count, out=offset[1:])
    words = np.zeros(int(offset[-1]), np.uint16)
    pos = offset[:-1].copy()

    def put(mask, values):  # one word for each unit in mask, at its next free position
        idx = np.flatnonzero(mask)
        words[pos[idx]] = values
        pos[idx] += 1

    if time_high_updates:
        _put_repeated(words, pos, extra_high,
                      lambda unit, k: TIME_HIGH << 12 | ((prev_high[unit] + MAX_HIGH_STEP * k) & 0xFFF))
        put(write_high, TIME_HIGH << 12 | (high[write_high] & 0xFFF))
        put(new_time, TIME_LOW << 12 | (unit_t[new_time] & 0xFFF))
    else:
        put(write_high, TIME_HIGH << 12 | (high[write_high] & 0xFFF))
        _put_repeated(words, pos, extra_low,
                      lambda unit, k: TIME_LOW << 12 | ((prev_t[unit] + 4095 * k) & 0xFFF))
        put(new_time, TIME_LOW << 12 | (unit_t[new_time] & 0xFFF))
    put(write_y, ADDR_Y << 12 | cd_y[write_y[is_cd]])

    # trigger words
    tr_units = np.flatnonzero(~is_cd)
    tr = triggers[unit_ref[tr_units]]
    words[pos[tr_units]] = (EXT_TRIGGER << 12 | (np.asarray(tr["id"], np.int64) << 8)
                            | (np.asarray(tr["edge"]) != 0))
    # CD words: single events as ADDR_X, runs as VECT_BASE_X + vector words
    cd_units = np.flatnonzero(is_cd)
    single = cd_len == 1
    words[pos[cd_units[single]]] = ADDR_X << 12 | p[cd_start[single]] << 11 | x[cd_start[single]]
    multi = ~single
    if np.any(multi):
        m_units, m_start, m_len = cd_units[multi], cd_start[multi], cd_len[multi]
        words[pos[m_units]] = VECT_BASE_X << 12 | p[m_start] << 11 | x[m_start]
        member = np.repeat(np.arange(len(m_start)), m_len)
        ev = np.repeat(m_start, m_len) + (np.arange(m_len.sum()) - np.repeat(np.cumsum(m_len) - m_len, m_len))
        rel = x[ev] - x[m_start][member]
        word_at = pos[m_units][member] + 1 + rel // 12
        masks = np.bincount(word_at, weights=(1 << (rel % 12)).astype(np.float64),
                            minlength=len(words)).astype(np.int64)
        blocks = span[multi] // 12 + 1
        vec_word = np.repeat(pos[m_units] + 1, blocks) + (
            np.arange(blocks.sum()) - np.repeat(np.cumsum(blocks) - blocks, blocks))
        last = np.zeros(len(vec_word), bool)
        last[np.cumsum(blocks) - 1] = True
        vec_mask = masks[vec_word]
        short = last & (vec_mask < 256)  # the last block fits a VECT_8
        words[vec_word] = np.where(short, VECT_8 << 12 | vec_mask, VECT_12 << 12 | vec_mask)
    return words.astype("<u2").tobytes()


def packetize(events: np.ndarray, packet_us: int = 1000,
              previous_t: int | None = None) -> list[tuple[int, bytes]]:
    """Time-sorted events -> ``(stamp_ns, evt3_payload)`` per ``packet_us`` interval that has events.

    What a camera driver publishes: one packet per interval (intervals aligned to multiples of
    ``packet_us``), each payload starting with its time pair. ``stamp_ns`` is the time of the
    packet's first event: a header stamp must never be earlier than the sensor time the packet
    starts at, which :class:`~.clock.ClockOffsetEstimator` takes as the clock offset (an
    interval-start stamp would pull it up to ``packet_us`` early).

    The packets form one stream for one stateful decoder: a packet that follows a gap of 2^24 us
    (16.8 s) or more starts with the ``TIME_HIGH`` words of the rollovers in the gap (see
    :func:`encode_evt3`). ``previous_t`` (ns): the last event time of packets made by an earlier
    call, when this call continues that stream.
    """
    if len(events) == 0:
        return []
    t_us = events["t"] // 1000
    edges = np.arange(int(t_us[0]) - int(t_us[0]) % packet_us, int(t_us[-1]) + packet_us + 1, packet_us)
    cuts = np.searchsorted(t_us, edges)
    packets = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b > a:
            packets.append((int(events["t"][a]), encode_evt3(events[a:b], previous_t=previous_t)))
            previous_t = int(events["t"][b - 1])
    return packets


def _check(t_us: np.ndarray, what: str) -> None:
    if len(t_us) and t_us[0] < 0:
        raise ValueError(f"EVT3 {what} times must be >= 0 ns, got {t_us[0] * US_TO_NS}")
    if len(t_us) > 1 and np.any(t_us[1:] < t_us[:-1]):
        k = int(np.argmax(t_us[1:] < t_us[:-1]))
        raise ValueError(f"EVT3 {what} must be in time order: {what}[{k + 1}] is earlier than "
                         f"{what}[{k}] (after flooring to microseconds)")


def _runs(t_us, x, y, p) -> np.ndarray:
    """Start indices of vector runs: same time, y and polarity, x increasing by 1..11."""
    if not len(t_us):
        return np.zeros(0, np.int64)
    dx = np.diff(x)
    joins = (np.diff(t_us) == 0) & (np.diff(y) == 0) & (np.diff(p) == 0) & (dx > 0) & (dx < 12)
    return np.flatnonzero(np.concatenate([[True], ~joins]))


def _put_repeated(words, pos, counts, word_of) -> None:
    """Write ``counts[u]`` words ``word_of(u, k)``, k = 1..counts[u], at ``pos[u]`` onwards."""
    units = np.flatnonzero(counts)
    if not len(units):
        return
    c = counts[units]
    unit = np.repeat(units, c)
    k = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c) + 1
    words[pos[unit] + k - 1] = word_of(unit, k)
    pos[units] += c
