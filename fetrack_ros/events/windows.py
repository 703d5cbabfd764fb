"""Which events belong to an image: window policies mapping an image stamp to ``[t0, t1)``.

All times are int64 ns. Image stamps are in the image clock (ROS time); the returned window is
in the event clock: ``t_event = t_image + event_offset_ns``. Use :class:`ClockOffsetEstimator`
(:mod:`.clock`) to map sensor time to ROS time first, or set ``event_offset_ns`` by hand.

Policies for an image stamped ``t``:

* ``between_frames`` (default): ``[t_prev, t)``, the previous image's stamp to this one; the first
  image (or one after a backward jump) uses ``[t - duration_ns, t)``. When ``max_duration_ns``
  is set the window is cut to at most that length (ending at ``t``).
* ``fixed``: ``[t - duration_ns, t)``.
* ``exposure``: ``[t + exposure_offset_ns, t + exposure_offset_ns + exposure_ns)``: the sensor's
  exposure. With stamps at the start of exposure use offset 0, at its end ``-exposure_ns``, at
  its middle ``-exposure_ns // 2``.
"""
from __future__ import annotations

from dataclasses import dataclass

WINDOW_POLICIES = ("between_frames", "fixed", "exposure")


@dataclass
class WindowPolicy:
    """Maps image stamps to event windows; stateful only for ``between_frames``."""

    kind: str = "between_frames"
    duration_ns: int = 33_000_000          # fixed windows, and the first between_frames window
    max_duration_ns: int | None = None     # optional cap for between_frames
    exposure_ns: int = 10_000_000          # exposure policy: window length
    exposure_offset_ns: int = 0            # exposure policy: window start relative to the stamp
    event_offset_ns: int = 0               # t_event = t_image + event_offset_ns

    def __post_init__(self) -> None:
        if self.kind not in WINDOW_POLICIES:
            raise ValueError(f"window policy kind {self.kind!r} is unknown; expected one of {WINDOW_POLICIES}")
        for name in ("duration_ns", "exposure_ns"):
            if getattr(self, name) <= 0:
                raise ValueError(f"window policy {name} must be > 0 ns, got {getattr(self, name)}")
        if self.max_duration_ns is not None and self.max_duration_ns <= 0:
            raise ValueError(f"window policy max_duration_ns must be > 0 ns or None, got {self.max_duration_ns}")
        self._previous_stamp: int | None = None
        self.backward_stamps = 0  # image stamps not after the previous one (between_frames)

    def reset(self) -> None:
        """Forget the previous image stamp (e.g. after a bag restarts)."""
        self._previous_stamp = None

    def window(self, stamp_ns: int) -> tuple[int, int]:
        """The event-clock window ``(t0, t1)``, half-open, for an image stamped ``stamp_ns``."""
        t = int(stamp_ns)
        if self.kind == "fixed":
            t0, t1 = t - self.duration_ns, t
        elif self.kind == "exposure":
            t0 = t + self.exposure_offset_ns
            t1 = t0 + self.exposure_ns
        else:
            previous, self._previous_stamp = self._previous_stamp, t
            if previous is not None and previous >= t:
                self.backward_stamps += 1
                previous = None
            t0 = t - self.duration_ns if previous is None else previous
            if self.max_duration_ns is not None:
                t0 = max(t0, t - self.max_duration_ns)
            t1 = t
        return t0 + self.event_offset_ns, t1 + self.event_offset_ns
