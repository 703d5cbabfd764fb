"""The one interface every evaluation source (dataset folder, rosbag2 bag) provides.

A :class:`Sequence` yields :class:`Frame` records in time order. Each frame carries the RGB image
and the event data for it: a rendered event frame (dataset ``dvs`` folders, event frames recorded
as images, or rendered by the source) and/or, when the source has raw events (EVT3 packets decoded
from a bag, an aedat4 recording, the simulator), the events of its window; plus its ground-truth
box when the source has one.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Iterator

import numpy as np


class SourceError(ValueError):
    """Malformed or missing evaluation input (folder, file, image, bag, topic)."""


@dataclass(frozen=True)
class Frame:
    """One RGB image with its events.

    Attributes:
        index: 0-based frame number within the sequence.
        stamp_ns: image time, int nanoseconds.
        rgb: H x W x 3 uint8, RGB order.
        event_frame: H x W x 3 uint8 RGB rendered event frame, or None when only ``events`` are
            given (the simulator's frames: rendered by the consumer).
        events: structured event array (``fetrack_ros.events.EVENT_DTYPE``) of this image's window
            when the source has raw events, else None.
        gt_xywh: (4,) float64 ground-truth box ``[x, y, w, h]`` in pixels, or None if unknown.
    """

    index: int
    stamp_ns: int
    rgb: np.ndarray
    event_frame: np.ndarray | None = None
    events: np.ndarray | None = None
    gt_xywh: np.ndarray | None = None


class Sequence(abc.ABC):
    """A finite, re-iterable sequence of frames (each call of :meth:`frames` starts over)."""

    name: str
    #: True when :meth:`event_batches` gives the raw event stream (e.g. an aedat4 recording);
    #: ``sensor_size`` is then the event sensor's ``(width, height)`` in pixels.
    has_raw_events: bool = False
    sensor_size: tuple[int, int] | None = None

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of frames."""

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Frames in time order, read lazily."""

    @property
    @abc.abstractmethod
    def gt_xywh(self) -> np.ndarray | None:
        """(len(self), 4) float64 ground-truth boxes, or None when the source has none."""

    def event_batches(self) -> Iterator[np.ndarray]:
        """The raw event stream in time order (EVENT_DTYPE, ns in the frames' clock), in batches."""
        raise SourceError(f"sequence {self.name} has no raw event stream")

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, frames={len(self)})"


class FrameList(Sequence):
    """Frames already read (a list of :class:`Frame`), as a Sequence: several trackers run over the
    same frames without reading or simulating them again. Ground truth from the frames' boxes."""

    def __init__(self, name: str, frames: list[Frame]):
        self.name, self._frames = name, list(frames)

    def __len__(self) -> int:
        return len(self._frames)

    def frames(self) -> Iterator[Frame]:
        return iter(self._frames)

    @property
    def gt_xywh(self) -> np.ndarray | None:
        if any(f.gt_xywh is None for f in self._frames):
            return None
        return np.stack([f.gt_xywh for f in self._frames]).astype(np.float64)


def check_frame_sizes(first: tuple | None, rgb: np.ndarray, event_frame: np.ndarray, where: str) -> tuple:
    """Sizes must stay those of frame 0 (``first``; None at frame 0). Returns frame 0's sizes.

    The tracker resizes an event frame of another size than the RGB image, so only a size change
    within a sequence is an error.
    """
    sizes = (rgb.shape, event_frame.shape)
    if first is not None and sizes != first:
        raise SourceError(f"{where}: RGB {rgb.shape[:2]} and event frame {event_frame.shape[:2]} (H, W) differ "
                          f"from frame 0's {first[0][:2]} and {first[1][:2]}")
    return sizes
