"""A bounded, time-sorted store of decoded events with O(log n + k) window cuts.

Events arrive as decoded packets (~1 ms each) and are cut out per RGB image with a half-open
window ``[t0, t1)`` in event time (ns). Storage is one preallocated structured array used as a
sliding region ``[start, end)`` plus a contiguous copy of the time column for
``np.searchsorted`` (a strided field view would be copied on every search). Appending copies
only the new packet; old events are dropped by moving ``start``; the live region is moved to
the front (or the storage doubled) only when the end is reached, so appends are amortised O(k).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_types import EVENT_DTYPE, as_event_array


@dataclass
class BufferStats:
    """Cumulative counters of an :class:`EventBuffer` (all event counts, except where noted)."""

    appended: int = 0          # events handed to append()
    dropped_span: int = 0      # oldest events dropped because they fell out of max_span_ns
    dropped_count: int = 0     # oldest events dropped because the buffer held max_events
    evicted_unused: int = 0    # of those two: events at or after used_until_ns, never reached by a window
    unsorted_packets: int = 0  # packets (not events) whose own times decreased: sorted on entry
    late_packets: int = 0      # packets (not events) starting before the newest event: merged in
    resets: int = 0            # backward time jumps larger than reset_backward_ns (buffer cleared)
    dropped_by_reset: int = 0  # events discarded by those resets


class EventBuffer:
    """Time-sorted event store bounded by a time span and an event count.

    Parameters (times in ns):
        max_span_ns: events older than ``newest_t - max_span_ns`` are dropped (and counted).
        max_events: at most this many events are kept; the oldest beyond it are dropped (counted).
            This bounds the memory too: 21 bytes per stored event, at most ~2.7x max_events x 21
            bytes at the peak of a burst; afterwards the storage shrinks back to at most 4x what
            the live events need.
        reset_backward_ns: a packet starting more than this before the newest stored event is a
            time jump backwards (a bag restarting, a camera reset): the buffer is cleared and
            ``stats.resets`` counted, then the packet is stored. Smaller overlaps (late packets)
            are merged in time order and counted in ``stats.late_packets``.
    """

    def __init__(self, max_span_ns: int = 1_000_000_000, max_events: int = 10_000_000,
                 reset_backward_ns: int = 500_000_000, initial_capacity: int = 1 << 16) -> None:
        for name, value in (("max_span_ns", max_span_ns), ("max_events", max_events),
                            ("reset_backward_ns", reset_backward_ns)):
            if value <= 0:
                raise ValueError(f"EventBuffer {name} must be > 0, got {value}")
        self.max_span_ns = int(max_span_ns)
        self.max_events = int(max_events)
        self.reset_backward_ns = int(reset_backward_ns)
        self._events = np.zeros(max(16, initial_capacity), EVENT_DTYPE)
        self._t = np.zeros(len(self._events), np.int64)
        self._start = 0
        self._end = 0
        self._initial_capacity = len(self._events)
        #: Events before this time (ns) were offered to a window (:meth:`mark_used`); older ones
        #: that are evicted count as used, newer ones as ``stats.evicted_unused``.
        self.used_until_ns: int | None = None
        #: Time (ns) of the newest event evicted so far: a window starting at or before it lost events.
        self.evicted_until_ns: int | None = None
        self.stats = BufferStats()

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        return self._end - self._start

    @property
    def t_first(self) -> int | None:
        """Time (ns) of the oldest stored event, or None when empty."""
        return int(self._t[self._start]) if len(self) else None

    @property
    def t_last(self) -> int | None:
        """Time (ns) of the newest stored event, or None when empty."""
        return int(self._t[self._end - 1]) if len(self) else None

    def lost_from(self, t0: int) -> bool:
        """Whether events at or after ``t0`` (ns) were evicted: a window starting there is short."""
        return self.evicted_until_ns is not None and self.evicted_until_ns >= t0

    def window(self, t0: int, t1: int) -> np.ndarray:
        """A copy of the stored events with ``t0 <= t < t1`` (ns), in time order.

        O(log n + k). An empty or inverted window returns an empty array.
        """
        if t1 <= t0 or not len(self):
            return np.zeros(0, EVENT_DTYPE)
        times = self._t[self._start:self._end]
        i0, i1 = np.searchsorted(times, [t0, t1], side="left")
        return _raw(self._events[self._start + i0:self._start + i1]).copy().view(EVENT_DTYPE)

    def count(self, t0: int, t1: int) -> int:
        """Number of stored events with ``t0 <= t < t1``, in O(log n)."""
        if t1 <= t0 or not len(self):
            return 0
        i0, i1 = np.searchsorted(self._t[self._start:self._end], [t0, t1], side="left")
        return int(i1 - i0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the storage (events and their time column)."""
        return self._events.nbytes + self._t.nbytes

    # ---------------------------------------------------------------- updates
    def mark_used(self, t1: int) -> None:
        """Windows up to ``t1`` (ns) have been cut: evicting events before it loses nothing."""
        if self.used_until_ns is None or t1 > self.used_until_ns:
            self.used_until_ns = int(t1)

    def clear(self) -> None:
        """Forget all events (the counters are kept)."""
        self._start = self._end = 0
        self.used_until_ns = self.evicted_until_ns = None

    def append(self, events: np.ndarray) -> None:
        """Store a decoded packet (any array with fields x, y, t, p; t in ns)."""
        events = as_event_array(events)
        k = len(events)
        if k == 0:
            return
        self.stats.appended += k
        if k > self.max_events:  # only the newest max_events could stay: never store the rest
            self._evict_incoming(events["t"][:k - self.max_events])
            events = events[k - self.max_events:]
            k = len(events)
        times = np.asarray(events["t"], dtype=np.int64)
        if k > 1 and np.any(times[1:] < times[:-1]):
            # EVT3 TIME_LOW glitches can step back a few us inside a packet; keep the store sorted
            order = np.argsort(times, kind="stable")
            events, times = events[order], times[order]
            self.stats.unsorted_packets += 1
        if len(self) and times[0] < self._t[self._end - 1]:
            if self._t[self._end - 1] - times[0] > self.reset_backward_ns:
                self.stats.resets += 1
                self.stats.dropped_by_reset += len(self)
                self.clear()
            else:
                self._merge_late(events, times)
                self._enforce_bounds()
                return
        self._write(events, times)
        self._enforce_bounds()

    # ---------------------------------------------------------------- internals
    def _write(self, events: np.ndarray, times: np.ndarray) -> None:
        k = len(events)
        self._make_room(k)
        _raw(self._events[self._end:self._end + k])[:] = _raw(np.ascontiguousarray(_convert(events)))
        self._t[self._end:self._end + k] = times
        self._end += k

    def _merge_late(self, events: np.ndarray, times: np.ndarray) -> None:
        """Insert a packet that overlaps the stored tail, keeping time order (stable)."""
        self.stats.late_packets += 1
        tail_start = self._start + int(np.searchsorted(self._t[self._start:self._end], times[0],
                                                        side="right"))
        tail = self._events[tail_start:self._end].copy()
        merged = np.concatenate([tail, _convert(events)])
        merged_t = np.concatenate([self._t[tail_start:self._end], times])
        order = np.argsort(merged_t, kind="stable")
        self._end = tail_start
        self._write(merged[order], merged_t[order])

    def _make_room(self, k: int) -> None:
        if self._end + k <= len(self._events):
            return
        excess = len(self) + k - self.max_events
        if excess > 0:  # these would be evicted right after the write: evict them first
            self._evict(min(excess, len(self)), by_count=True)
        live = len(self)
        capacity = len(self._events)
        # keep >= 1/4 of the storage free after a move, so moves cost O(1) per appended event
        while 4 * (live + k) > 3 * capacity:
            capacity *= 2
        self._resize(capacity)

    def _shrink(self) -> None:
        """Give memory back after a burst: storage over 4x the live events halves (to >= initial)."""
        capacity = len(self._events)
        while capacity > self._initial_capacity and capacity > 4 * len(self):
            capacity //= 2
        if capacity != len(self._events):
            self._resize(max(capacity, self._initial_capacity))

    def _resize(self, capacity: int) -> None:
        live = len(self)
        if capacity != len(self._events):
            events, times = np.zeros(capacity, EVENT_DTYPE), np.zeros(capacity, np.int64)
        else:
            events, times = self._events, self._t
        # overlapping copies within one array are safe in numpy (it buffers as needed)
        _raw(events[:live])[:] = _raw(self._events[self._start:self._end])
        times[:live] = self._t[self._start:self._end]
        self._events, self._t = events, times
        self._start, self._end = 0, live

    def _enforce_bounds(self) -> None:
        if not len(self):
            return
        newest = int(self._t[self._end - 1])
        cut = int(np.searchsorted(self._t[self._start:self._end], newest - self.max_span_ns, side="left"))
        self._evict(cut, by_count=False)
        excess = len(self) - self.max_events
        if excess > 0:
            self._evict(excess, by_count=True)
        self._shrink()

    def _evict(self, n: int, by_count: bool) -> None:
        """Drop the ``n`` oldest events, counting them by cause and by use."""
        if n <= 0:
            return
        if by_count:
            self.stats.dropped_count += n
        else:
            self.stats.dropped_span += n
        self._count_unused(self._t[self._start:self._start + n])
        self._start += n

    def _evict_incoming(self, times: np.ndarray) -> None:
        self.stats.dropped_count += len(times)
        self._count_unused(np.sort(np.asarray(times, np.int64)))

    def _count_unused(self, sorted_times: np.ndarray) -> None:
        used = 0 if self.used_until_ns is None else int(np.searchsorted(sorted_times, self.used_until_ns))
        self.stats.evicted_unused += len(sorted_times) - used
        if len(sorted_times) and (self.evicted_until_ns is None or sorted_times[-1] > self.evicted_until_ns):
            self.evicted_until_ns = int(sorted_times[-1])


def _raw(events: np.ndarray) -> np.ndarray:
    """The records of a contiguous EVENT_DTYPE array as opaque bytes: numpy copies those ~20x
    faster than field by field, which matters at 10 M events/s."""
    return events.view(np.dtype((np.void, EVENT_DTYPE.itemsize)))


def _convert(events: np.ndarray) -> np.ndarray:
    """Copy any x, y, t, p structured array into :data:`EVENT_DTYPE` (p normalised to 0/1)."""
    if events.dtype == EVENT_DTYPE:
        return events
    out = np.empty(len(events), EVENT_DTYPE)
    out["x"], out["y"], out["t"] = events["x"], events["y"], events["t"]
    out["p"] = events["p"] != 0
    return out
