"""Small synthetic sequences written in the dataset folder layouts (for tests, benchmarks, demos).

A textured square moves over a textured background; the event frame marks the pixels whose
brightness changed since the previous frame in the Event-AHU colours. Deterministic per seed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .datasets import get_layout

ON_RGB = (220, 30, 30)
OFF_RGB = (30, 30, 200)


def make_frames(n_frames: int, height: int = 260, width: int = 346, seed: int = 0):
    """Returns (rgb (N,H,W,3) uint8, event (N,H,W,3) uint8, gt (N,4) float64 [x,y,w,h])."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 200, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_NEAREST)
    cell = max(1, min(height, width) // 32)  # 4x4 checker: 32 px object at 260x346
    patch = np.kron((np.indices((4, 4)).sum(0) % 2).astype(np.uint8) * 200 + 30,
                    np.ones((cell, cell), np.uint8))[..., None].repeat(3, axis=2)
    size = patch.shape[0]
    if size >= min(height, width):
        raise ValueError(f"image {height}x{width} too small for a synthetic sequence (need > {size} px)")
    margin = min(20, (min(height, width) - size) // 4)
    rgb = np.empty((n_frames, height, width, 3), np.uint8)
    event = np.full((n_frames, height, width, 3), 255, np.uint8)
    gt = np.empty((n_frames, 4), np.float64)
    for i in range(n_frames):
        x = int(margin + (width - size - 2 * margin) * (0.5 + 0.5 * np.sin(i / 7.0)))
        y = int(margin + (height - size - 2 * margin) * (0.5 + 0.5 * np.cos(i / 9.0)))
        frame = background.copy()
        frame[y:y + size, x:x + size] = patch
        rgb[i] = frame
        gt[i] = (x, y, size, size)
        if i:
            diff = frame.astype(np.int16).sum(2) - rgb[i - 1].astype(np.int16).sum(2)
            event[i][diff > 30] = ON_RGB
            event[i][diff < -30] = OFF_RGB
    return rgb, event, gt


def write_sequence(root: str | Path, name: str, dataset: str = "coesot", n_frames: int = 10,
                   height: int = 260, width: int = 346, ext: str = "png", seed: int = 0,
                   gt_separator: str = ",") -> Path:
    """Write one synthetic sequence folder in ``dataset``'s layout; returns the sequence folder."""
    layout = get_layout(dataset)
    seq_dir = Path(root) / name
    rgb, event, gt = make_frames(n_frames, height, width, seed)
    for sub, images in ((layout.rgb_dir, rgb), (layout.event_dir, event)):
        folder = seq_dir / sub.format(seq=name)
        folder.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            if not cv2.imwrite(str(folder / f"frame{i:04d}.{ext}"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
                raise OSError(f"cv2 could not write {folder / f'frame{i:04d}.{ext}'}")
    (seq_dir / layout.gt_file).write_text(
        "".join(gt_separator.join(str(int(v)) for v in row) + "\n" for row in gt))
    return seq_dir


def random_events(start_us: int, end_us: int, rate_per_ms: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Uniformly random events (EVENT_DTYPE, time-sorted, whole microseconds in ns) in
    ``[start_us, end_us)`` at ``rate_per_ms`` events per millisecond."""
    from ..events import make_events
    rng = np.random.default_rng(seed)
    count = max(1, (end_us - start_us) * rate_per_ms // 1000)
    t_us = np.sort(rng.integers(start_us, end_us, count))
    return make_events(rng.integers(0, width, count), rng.integers(0, height, count), t_us * 1000,
                       rng.integers(0, 2, count))


def write_recording(path: str | Path, rgb: np.ndarray, frame_times_us, events: np.ndarray) -> Path:
    """An aedat4 recording (as COESOT/FE108 ship raw data) through dv-processing: the frames
    ``rgb`` (N, H, W, 3) at ``frame_times_us`` and ``events`` (EVENT_DTYPE, ns multiple of 1000)."""
    import dv_processing as dv
    height, width = rgb.shape[1:3]
    writer = dv.io.MonoCameraWriter(str(path), dv.io.MonoCameraWriter.DAVISConfig("DAVIS346_synthetic",
                                                                                  (width, height)))
    store = dv.EventStore()
    for x, y, t, p in zip(events["x"].tolist(), events["y"].tolist(), (events["t"] // 1000).tolist(),
                          events["p"].tolist()):
        store.push_back(t, x, y, bool(p))
    writer.writeEvents(store)
    for image, t_us in zip(rgb, frame_times_us):
        writer.writeFrame(dv.Frame(int(t_us), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)))
    del writer  # closes the file
    return Path(path)
