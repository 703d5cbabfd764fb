"""Each RGB image paired with the event data of its window: one class for the node and the bag reader.

:class:`FrameAssembler` takes images, undecoded event messages (or decoded events, or
pre-rendered event frames) in any arrival interleaving and hands out :class:`AssembledFrame`
objects in image order. It owns the whole pairing: batched decoding (:class:`EventDecoding`),
the event buffer, the window policy, the completeness rule and the accounting. The live node
calls it with wall-clock times; an offline reader calls it with ``max_wait_s = inf`` and
:meth:`FrameAssembler.finish` at the end, so "windowed as the node does" holds by construction.

Completeness. An image's window ``[t0, t1)`` is complete once the event stream has reached
``t1``: :attr:`FrameAssembler.stream_time_ns`, the image-clock time the decoded stream has
covered (EVT3 time words advance it even when a quiet scene has no events). An image waits for
that at most ``max_wait_s``; while the caller reports a ``backlog`` (event messages still queued
for intake), at most ``BACKLOG_WAIT_FACTOR`` times as long: events that exist are waited for,
events that never come (camera stopped) cost only ``max_wait_s``. An image released
incomplete says so (``AssembledFrame.complete``) and is counted (``images.incomplete_events``);
so is one whose window the buffer's bounds had already partly evicted (``images.events_evicted``:
the node fell behind a burst by more than ``event_buffer_span``). Images that never arrived (lost
by a best-effort transport) are estimated from the stamp intervals (``images.missing``): their
events then fall into the next image's ``between_frames`` window.

Counts (diagnostics reasons) accumulate in :meth:`FrameAssembler.take_counts`; messages worth a
log line in :meth:`FrameAssembler.take_notices`.
"""
from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from ..events import EventBuffer, WindowPolicy
from ..messages import EventDecoding
from .pending import EventFrameMatcher, PendingImages, ReleasedImage

#: Undecoded event messages kept while no image waits: decoded together (far fewer calls) once
#: this many have gathered or the oldest is this old.
RAW_EVENT_BATCH = 64
RAW_EVENT_AGE_S = 0.05
#: An image stamped this much before the previous one is a restart (bag loop): windows reset.
TIME_JUMP_BACK_NS = 500_000_000
#: With event messages still queued for intake, an image waits up to this many times max_wait.
BACKLOG_WAIT_FACTOR = 4
#: Image stamp intervals above this many frame periods (the median of the last PERIOD_SAMPLES)
#: count the images missing in between (``images.missing``).
MISSING_FACTOR = 1.5
PERIOD_SAMPLES = 16


@dataclass
class AssembledFrame:
    """An image with its event data, ready for the tracker.

    ``events``: the window's events (:data:`~fetrack_ros.events.EVENT_DTYPE`, image clock) for
    event streams, else None; ``sensor_hw``: the event sensor's ``(height, width)``;
    ``event_frame``: the matched pre-rendered frame (event-frame input; None when none matched);
    ``complete``: the event data was complete (False: released by the timeout or at the end of a
    recording before the stream reached the window end).
    """

    item: object
    stamp_ns: int
    window: tuple[int, int] | None
    events: np.ndarray | None
    sensor_hw: tuple[int, int] | None
    event_frame: object
    complete: bool
    waited_s: float


class FrameAssembler:
    """Pairs images with their events; see the module docstring.

    Give exactly one event source: ``decoding`` (event messages, with ``policy``), ``sensor_hw``
    (already decoded events in the image clock, with ``policy``) or ``matcher`` (pre-rendered
    event frames). ``buffer`` defaults to an :class:`EventBuffer` with its default bounds.
    """

    def __init__(self, *, policy: WindowPolicy | None = None, decoding: EventDecoding | None = None,
                 sensor_hw: tuple[int, int] | None = None, matcher: EventFrameMatcher | None = None,
                 buffer: EventBuffer | None = None, max_wait_s: float = math.inf, max_pending: int = 100) -> None:
        if sum(x is not None for x in (decoding, sensor_hw, matcher)) != 1:
            raise ValueError("FrameAssembler needs exactly one event source: decoding, sensor_hw or matcher")
        if matcher is None and policy is None:
            raise ValueError("FrameAssembler needs a window policy for event streams")
        self.policy, self.decoding, self.matcher = policy, decoding, matcher
        self._sensor_hw = sensor_hw
        self.buffer = buffer if buffer is not None else EventBuffer(reset_backward_ns=TIME_JUMP_BACK_NS)
        self.max_wait_s = float(max_wait_s)
        self._pending = PendingImages(max_wait_s, max_pending)
        self._raw: list = []
        self._raw_since = 0.0
        self._previous_stamp: int | None = None
        self._intervals: deque[int] = deque(maxlen=PERIOD_SAMPLES)  # recent image stamp intervals, ns
        self._counts: Counter = Counter()
        self._buffer_seen = (0, 0, 0, 0)
        self._notices: list[str] = []

    # ------------------------------------------------------------------ state
    @property
    def event_frames(self) -> bool:
        """True when the event data are pre-rendered frames."""
        return self.matcher is not None

    @property
    def sensor_hw(self) -> tuple[int, int] | None:
        """``(height, width)`` of the event sensor (the latest packet's geometry for messages)."""
        return self.decoding.geometry if self.decoding is not None else self._sensor_hw

    @property
    def stream_time_ns(self) -> int | None:
        """Image-clock time (ns) up to which the event stream is known; None before any event."""
        times = [t for t in (self.buffer.t_last, self.decoding and self.decoding.stream_time_ns) if t is not None]
        return max(times) if times else None

    def __len__(self) -> int:
        """Images waiting."""
        return len(self._pending)

    def needs_service(self, now_s: float) -> bool:
        """Whether :meth:`release` has work now (images wait, or a batch of messages is due)."""
        return bool(len(self._pending) or self._batch_due(now_s))

    # ------------------------------------------------------------------ inputs
    def add_event_messages(self, msgs, now_s: float) -> None:
        """Event messages (or :class:`~fetrack_ros.messages.cdr.PacketRecord`) in arrival order,
        kept undecoded until an image waits or a batch is due."""
        if not msgs:
            return
        if not self._raw:
            self._raw_since = now_s
        self._raw.extend(msgs)

    def add_events(self, events: np.ndarray) -> None:
        """Already decoded events (image clock, stream order)."""
        self.buffer.append(events)

    def add_event_frame(self, stamp_ns: int, frame) -> None:
        """A pre-rendered event frame stamped ``stamp_ns``."""
        self.matcher.add(stamp_ns, frame)

    def add_image(self, item, stamp_ns: int, now_s: float) -> None:
        """Queue an image (anything: a message, an index) stamped ``stamp_ns`` (image clock)."""
        self._decode()  # the stream state is up to date before the stamp checks
        self._check_stamp_order(int(stamp_ns))
        window = None if self.event_frames else self.policy.window(stamp_ns)
        overflow = self._pending.add(item, stamp_ns, window, now_s)
        self._counts["dropped.sync_overflow"] += len(overflow)

    # ------------------------------------------------------------------ outputs
    def release(self, now_s: float, backlog: bool = False) -> list[AssembledFrame]:
        """Every image, from the front, whose events are complete or whose wait ran out."""
        if self._raw and (len(self._pending) or self._batch_due(now_s)):
            self._decode()
        limit = self.max_wait_s * (BACKLOG_WAIT_FACTOR if backlog else 1)
        return [self._assemble(image) for image in self._pending.release(self._is_complete, now_s, limit)]

    def finish(self) -> list[AssembledFrame]:
        """The recording ended: every waiting image, with what was recorded for it."""
        self._decode()
        return [self._assemble(image) for image in self._pending.release(self._is_complete, 0.0, -math.inf)]

    def take_counts(self) -> Counter:
        """Counts by diagnostics reason since the last call."""
        self._collect_counts()
        counts, self._counts = self._counts, Counter()
        return +counts

    def take_notices(self) -> list[str]:
        """Messages worth a (throttled) log line since the last call."""
        notices, self._notices = self._notices, []
        return notices

    # ------------------------------------------------------------------ internals
    def _batch_due(self, now_s: float) -> bool:
        return bool(self._raw) and (len(self._raw) >= RAW_EVENT_BATCH or now_s - self._raw_since > RAW_EVENT_AGE_S)

    def _is_complete(self, pending) -> bool:
        if self.event_frames:
            return self.matcher.is_complete(pending)
        reached = self.stream_time_ns
        return reached is not None and reached >= pending.window[1]

    def _assemble(self, image: ReleasedImage) -> AssembledFrame:
        complete = image.complete
        if complete and not self.event_frames and self.buffer.lost_from(image.window[0]):
            # the stream passed the window, but the buffer's bounds evicted part of it first
            complete = False
            self._counts["images.events_evicted"] += 1
        if not complete:
            self._counts["images.incomplete_events"] += 1
        if self.event_frames:
            frame, _ = self.matcher.match(image.stamp_ns)
            return AssembledFrame(image.item, image.stamp_ns, None, None, None, frame, image.complete, image.waited_s)
        if self.decoding is not None and self.decoding.clock.offset_ns is None:
            self._counts["images.no_clock_offset"] += 1
        t0, t1 = image.window
        events = self.buffer.window(t0, t1)
        self.buffer.mark_used(t1)
        return AssembledFrame(image.item, image.stamp_ns, image.window, events, self.sensor_hw, None,
                              complete, image.waited_s)

    def _decode(self) -> None:
        """Decode the kept event messages (one batched call) into the buffer."""
        if not self._raw:
            return
        msgs, self._raw = self._raw, []
        restarts = self.decoding.restarts
        chunks, malformed, errors = self.decoding.decode_many(msgs)
        if self.decoding.restarts > restarts:
            self._counts["events.stream_restarts"] += self.decoding.restarts - restarts
        for error in errors:
            self._counts[error.reason] += 1
        if errors:
            self._notices.append(f"{len(errors)} event message(s) skipped: {errors[-1]}")
        if malformed:
            self._counts["events.malformed_packet"] += malformed
            self._notices.append("event packets held words that could not be decoded; their other events were kept")
        for events in chunks:
            self._counts["events.decoded"] += len(events)
            self.buffer.append(events)

    def _count_missing(self, interval_ns: int) -> None:
        """Images lost before they reached us (a best-effort transport drops them unseen): a stamp
        interval of k frame periods (the median of the recent ones) means k - 1 images missing."""
        if len(self._intervals) >= PERIOD_SAMPLES // 2:
            period = sorted(self._intervals)[len(self._intervals) // 2]
            if interval_ns > MISSING_FACTOR * period:
                self._counts["images.missing"] += round(interval_ns / period) - 1
                return  # a gap is not a period sample
        self._intervals.append(interval_ns)

    def _collect_counts(self) -> None:
        if self.decoding is not None:
            self._counts.update(self.decoding.counts)
            self.decoding.counts.clear()
        stats = self.buffer.stats
        seen = (stats.resets, stats.dropped_span + stats.dropped_count, stats.evicted_unused, stats.dropped_by_reset)
        evicted, unused = seen[1] - self._buffer_seen[1], seen[2] - self._buffer_seen[2]
        self._counts["events.buffer_resets"] += seen[0] - self._buffer_seen[0]
        self._counts["events.evicted_used"] += evicted - unused
        self._counts["events.evicted_unused"] += unused
        self._counts["events.dropped_by_reset"] += seen[3] - self._buffer_seen[3]
        self._buffer_seen = seen

    def _check_stamp_order(self, stamp: int) -> None:
        previous, self._previous_stamp = self._previous_stamp, stamp
        if previous is not None and stamp > previous:
            self._count_missing(stamp - previous)
        if previous is None or stamp > previous:
            return
        if stamp == previous:
            self._counts["images.duplicate_stamp"] += 1
        elif previous - stamp > TIME_JUMP_BACK_NS:
            self._counts["images.time_jump_back"] += 1
            # Events of the restarted stream may have come first (the buffer then reset itself):
            # forget only a stream still ahead of the image by more than a restart.
            reached = self.stream_time_ns
            if not self.event_frames and reached is not None and reached - stamp > TIME_JUMP_BACK_NS:
                self.buffer.clear()
                if self.decoding is not None:
                    self.decoding.stream_time_ns = None
            if self.policy is not None:
                self.policy.reset()
            self._notices.append(f"image time jumped back by {(previous - stamp) / 1e9:.3f} s (bag loop?): "
                                 f"event window reset")
        else:
            self._counts["images.out_of_order_stamp"] += 1
