"""aedat4 recordings (the raw event files of COESOT and FE108) through iniVation's dv-processing.

dv-processing is optional: the import happens on first use, and a missing package gives an
``ImportError`` that names it (``pip install dv-processing``). aedat4 timestamps are
microseconds; events and frame times come back in ns (x 1000), in the recording's clock (DAVIS
cameras: Unix time). Files dv-processing rejects (not aedat4,
truncated) raise :class:`EventDecodeError`. Known limit of dv-processing 2.0.4: some files
corrupted in the middle (flipped bytes in a valid file) make it loop forever instead of failing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .event_types import EVENT_DTYPE, EventDecodeError


def _dv():
    try:
        import dv_processing
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reading aedat4 files needs the 'dv-processing' package "
                          "(pip install dv-processing==2.0.4)") from exc
    return dv_processing


def _open(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"aedat4 file not found: {path}")
    try:
        return _dv().io.MonoCameraRecording(str(path))
    except RuntimeError as exc:
        raise EventDecodeError(f"aedat4 file {path} could not be read by dv-processing: {exc}") from exc


def _convert(batch: np.ndarray) -> np.ndarray:
    events = np.empty(len(batch), EVENT_DTYPE)
    events["x"], events["y"] = batch["x"], batch["y"]
    events["t"] = batch["timestamp"].astype(np.int64) * 1000
    events["p"] = batch["polarity"] != 0
    return events


def iter_aedat4_events(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the event batches of an aedat4 file in order (ns times)."""
    path = Path(path)
    recording = _open(path)
    try:
        if not recording.isEventStreamAvailable():
            raise EventDecodeError(f"aedat4 file {path} has no event stream")
        while recording.isRunning():
            batch = recording.getNextEventBatch()
            if batch is None:
                break
            yield _convert(batch.numpy())
    except RuntimeError as exc:  # dv-processing's error for unreadable files
        raise EventDecodeError(f"aedat4 file {path} could not be read by dv-processing: {exc}") from exc


def read_aedat4_frame_times(path: str | Path) -> np.ndarray:
    """(N,) int64 ns timestamps of the frames (APS images) of an aedat4 recording, in file order.

    Frame ``i`` of a dataset's ``aps`` folder is frame ``i`` of its recording; these are the
    times its events are windowed around. Raises :class:`EventDecodeError` when the file has no
    frame stream.
    """
    path = Path(path)
    recording = _open(path)
    if not recording.isFrameStreamAvailable():
        raise EventDecodeError(f"aedat4 file {path} has no frame stream: its frame times are needed to cut "
                               f"the events per frame")
    stamps = []
    try:
        while recording.isRunning():
            frame = recording.getNextFrame()
            if frame is None:
                break
            stamps.append(int(frame.timestamp) * 1000)
    except RuntimeError as exc:
        raise EventDecodeError(f"aedat4 file {path} could not be read by dv-processing: {exc}") from exc
    return np.asarray(stamps, np.int64)


def aedat4_event_resolution(path: str | Path) -> tuple[int, int]:
    """Sensor size ``(width, height)`` of an aedat4 recording's event stream."""
    path = Path(path)
    recording = _open(path)
    if not recording.isEventStreamAvailable():
        raise EventDecodeError(f"aedat4 file {path} has no event stream")
    width, height = recording.getEventResolution()
    return int(width), int(height)


def read_aedat4_events(path: str | Path) -> tuple[np.ndarray, tuple[int, int]]:
    """All events of an aedat4 file (ns times) and the sensor size ``(width, height)``."""
    batches = list(iter_aedat4_events(path))
    events = np.concatenate(batches) if batches else np.zeros(0, EVENT_DTYPE)
    return events, aedat4_event_resolution(path)
