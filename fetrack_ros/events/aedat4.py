"""aedat4 recordings (the raw event files of COESOT and FE108) through iniVation's dv-processing.

dv-processing is optional: the import happens on first use, and a missing package gives an
``ImportError`` that names it (``pip install dv-processing``). aedat4 timestamps are
microseconds; events come back in ns (x 1000). Files dv-processing rejects (not aedat4,
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


def _convert(batch: np.ndarray) -> np.ndarray:
    events = np.empty(len(batch), EVENT_DTYPE)
    events["x"], events["y"] = batch["x"], batch["y"]
    events["t"] = batch["timestamp"].astype(np.int64) * 1000
    events["p"] = batch["polarity"] != 0
    return events


def iter_aedat4_events(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the event batches of an aedat4 file in order (ns times)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"aedat4 file not found: {path}")
    dv = _dv()
    try:
        recording = dv.io.MonoCameraRecording(str(path))
        if not recording.isEventStreamAvailable():
            raise EventDecodeError(f"aedat4 file {path} has no event stream")
        while recording.isRunning():
            batch = recording.getNextEventBatch()
            if batch is None:
                break
            yield _convert(batch.numpy())
    except RuntimeError as exc:  # dv-processing's error for unreadable files
        raise EventDecodeError(f"aedat4 file {path} could not be read by dv-processing: {exc}") from exc


def read_aedat4_events(path: str | Path) -> tuple[np.ndarray, tuple[int, int]]:
    """All events of an aedat4 file (ns times) and the sensor size ``(width, height)``."""
    batches = list(iter_aedat4_events(path))
    width, height = _dv().io.MonoCameraRecording(str(path)).getEventResolution()  # read already
    events = np.concatenate(batches) if batches else np.zeros(0, EVENT_DTYPE)
    return events, (int(width), int(height))
