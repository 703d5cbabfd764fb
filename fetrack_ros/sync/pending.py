"""Images waiting for their event data, and pre-rendered event frames to match them with.

An image waits in a FIFO (:class:`PendingImages`) until its event data is complete or it has
waited long enough; the completeness rule is the caller's (:class:`~.assembler.FrameAssembler`):

- event streams: complete when the stream has passed the image's window end;
- pre-rendered event frames: complete when an event frame stamped at or after the image has
  arrived (frames arrive in stamp order, so the nearest one is then known); the frame used is
  the nearest within ``tolerance_ns`` (:class:`EventFrameMatcher`).

An image released by the timeout is marked incomplete. Images leave in arrival order.
"""
from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from typing import Callable


@dataclass
class PendingImage:
    """An image waiting for its events. ``window``: ``(t0, t1)`` ns in the image clock, or None."""

    item: object
    stamp_ns: int
    window: tuple[int, int] | None
    arrived_s: float


@dataclass
class ReleasedImage:
    """An image leaving the synchronizer; ``complete`` is False when it left by the timeout."""

    item: object
    stamp_ns: int
    window: tuple[int, int] | None
    complete: bool
    waited_s: float


class PendingImages:
    """FIFO of images waiting for their event data, bounded by ``max_pending``.

    ``release(is_complete, now_s)`` pops, from the front, every image whose data is complete
    (``is_complete(pending)``) or that waited at least ``max_wait_s``.
    """

    def __init__(self, max_wait_s: float, max_pending: int = 100) -> None:
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.max_wait_s = float(max_wait_s)
        self.max_pending = int(max_pending)
        self._queue: deque[PendingImage] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, item, stamp_ns: int, window, now_s: float) -> list[PendingImage]:
        """Queue an image; returns the images pushed out by the bound (oldest first)."""
        self._queue.append(PendingImage(item, int(stamp_ns), window, now_s))
        overflow = []
        while len(self._queue) > self.max_pending:
            overflow.append(self._queue.popleft())
        return overflow

    def release(self, is_complete: Callable[[PendingImage], bool], now_s: float,
                max_wait_s: float | None = None) -> list[ReleasedImage]:
        """Pop, from the front, every image that is complete or waited ``max_wait_s`` (default:
        the constructor's); stop at the first that must wait on."""
        limit = self.max_wait_s if max_wait_s is None else max_wait_s
        out = []
        while self._queue:
            head = self._queue[0]
            complete = is_complete(head)
            waited = now_s - head.arrived_s
            if not complete and waited < limit:
                break
            self._queue.popleft()
            out.append(ReleasedImage(head.item, head.stamp_ns, head.window, complete, waited))
        return out

    def clear(self) -> list[PendingImage]:
        dropped, self._queue = list(self._queue), deque()
        return dropped


class EventFrameMatcher:
    """Recent pre-rendered event frames, matched to images by nearest stamp within a tolerance.

    Keeps at most ``keep`` frames (the oldest are forgotten). A frame stamped before the newest
    one by more than ``reset_backward_ns`` (a bag restarting) clears the older frames.
    """

    def __init__(self, tolerance_ns: int, keep: int = 64, reset_backward_ns: int = 500_000_000) -> None:
        if tolerance_ns < 0:
            raise ValueError(f"tolerance_ns must be >= 0, got {tolerance_ns}")
        self.tolerance_ns = int(tolerance_ns)
        self.keep = int(keep)
        self.reset_backward_ns = int(reset_backward_ns)
        self._stamps: list[int] = []
        self._frames: list[object] = []
        self.resets = 0

    @property
    def newest_ns(self) -> int | None:
        return self._stamps[-1] if self._stamps else None

    def add(self, stamp_ns: int, frame) -> None:
        stamp_ns = int(stamp_ns)
        if self._stamps and self._stamps[-1] - stamp_ns > self.reset_backward_ns:
            self.resets += 1
            self._stamps, self._frames = [], []
        i = bisect.bisect_right(self._stamps, stamp_ns)
        self._stamps.insert(i, stamp_ns)
        self._frames.insert(i, frame)
        if len(self._stamps) > self.keep:
            del self._stamps[0], self._frames[0]

    def is_complete(self, pending: PendingImage) -> bool:
        """The frame nearest to this image is known (a frame at or after its stamp arrived)."""
        return self.newest_ns is not None and self.newest_ns >= pending.stamp_ns

    def match(self, stamp_ns: int):
        """``(frame, stamp_difference_ns)`` of the nearest frame within tolerance, else ``(None, None)``."""
        if not self._stamps:
            return None, None
        i = bisect.bisect_left(self._stamps, stamp_ns)
        best = None
        for j in (i - 1, i):
            if 0 <= j < len(self._stamps):
                diff = abs(self._stamps[j] - stamp_ns)
                if best is None or diff < best[1]:
                    best = (j, diff)
        if best is None or best[1] > self.tolerance_ns:
            return None, None
        return self._frames[best[0]], best[1]
