"""Tracking videos: each RGB frame with the ground truth and every tracker's box, its event frame
beside it, written as an animated GIF (people would rather look than read a table).

Pure numpy/OpenCV drawing; Pillow (a matplotlib dependency) writes the GIF.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

#: Box colours (RGB): the ground truth in white, trackers in the order they are given.
GROUND_TRUTH_COLOUR = (255, 255, 255)
TRACKER_COLOURS = ((40, 220, 60), (255, 150, 20), (200, 60, 255), (20, 200, 255))
_CAPTION_PX = 18
_GAP_PX = 4


@dataclass
class TrackedClip:
    """One sequence to show: ``rgb`` and ``events`` (N frames of (H, W, 3) uint8; events as rendered
    event frames), ``gt`` (N, 4) ``[x, y, w, h]`` px, ``boxes``: tracker label -> (N, 4) px."""

    name: str
    rgb: list
    events: list
    gt: np.ndarray
    boxes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.rgb)
        sizes = {"events": len(self.events), "gt": len(self.gt), **{k: len(v) for k, v in self.boxes.items()}}
        wrong = {k: v for k, v in sizes.items() if v != n}
        if wrong:
            raise ValueError(f"clip {self.name}: {n} RGB frames but {wrong} entries")


def draw_box(image: np.ndarray, box, colour, thickness: int = 2) -> None:
    """Draw ``[x, y, w, h]`` (px, floats allowed) on ``image`` in place; no-op for empty or non-finite boxes."""
    box = np.asarray(box, np.float64)
    if not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        return
    x1, y1 = int(round(box[0])), int(round(box[1]))
    x2, y2 = int(round(box[0] + box[2])), int(round(box[1] + box[3]))
    cv2.rectangle(image, (x1, y1), (x2, y2), tuple(int(c) for c in colour), thickness, lineType=cv2.LINE_8)


def frame_panel(clip: TrackedClip, i: int) -> np.ndarray:
    """Frame ``i`` of ``clip``: a caption row (sequence, frame, legend) over RGB-with-boxes | event
    frame, (H + caption, 2W + gap, 3) uint8."""
    panel = _picture(clip, i)
    _draw_marks(panel, clip, i)
    return panel


_FONT, _SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.4


def _picture(clip: TrackedClip, i: int) -> np.ndarray:
    """The panel without boxes and legend: caption row with the sequence and frame, RGB | events."""
    rgb = np.asarray(clip.rgb[i], dtype=np.uint8)
    events = np.asarray(clip.events[i], dtype=np.uint8)
    if events.shape != rgb.shape:
        events = cv2.resize(events, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    h, w = rgb.shape[:2]
    panel = np.full((h + _CAPTION_PX, 2 * w + _GAP_PX, 3), 24, np.uint8)
    panel[_CAPTION_PX:, :w] = rgb
    panel[_CAPTION_PX:, w + _GAP_PX:] = events
    cv2.putText(panel, f"{clip.name}  {i + 1}/{len(clip.rgb)}", (4, 13), _FONT, _SCALE, (230, 230, 230), 1,
                cv2.LINE_AA)
    return panel


def _draw_marks(panel: np.ndarray, clip: TrackedClip, i: int) -> None:
    """The ground truth and every tracker's box on the RGB half, and their legend, in place."""
    w = (panel.shape[1] - _GAP_PX) // 2
    rgb = panel[_CAPTION_PX:, :w]   # a view: boxes are drawn into the panel
    draw_box(rgb, clip.gt[i], GROUND_TRUTH_COLOUR, 1)
    for colour, boxes in zip(TRACKER_COLOURS, clip.boxes.values()):
        draw_box(rgb, boxes[i], colour)
    x = w + _GAP_PX + 4
    for label, colour in [("ground truth", GROUND_TRUTH_COLOUR), *zip(clip.boxes, TRACKER_COLOURS)]:
        cv2.putText(panel, label, (x, 13), _FONT, _SCALE, colour, 1, cv2.LINE_AA)
        x += 8 + cv2.getTextSize(label, _FONT, _SCALE, 1)[0][0]


def _gif_frame(clip: TrackedClip, i: int, colours: int):
    """Frame ``i`` as a palette image whose boxes and legend keep their exact colours: the picture
    without them is quantized to ``colours - 5`` colours, and the marks use 5 reserved entries."""
    from PIL import Image

    reserved = [GROUND_TRUTH_COLOUR, *TRACKER_COLOURS]
    plain = _picture(clip, i)
    marked = plain.copy()
    _draw_marks(marked, clip, i)
    image = Image.fromarray(plain).quantize(colours - len(reserved), dither=Image.Dither.NONE)
    palette = image.getpalette()[:3 * (colours - len(reserved))]
    first = len(palette) // 3
    index = np.array(image)
    # Text is antialiased (OpenCV 5 even with LINE_8): a drawn pixel takes the reserved colour
    # nearest to it when that is nearer than the picture underneath, which keeps text crisp.
    drawn = np.flatnonzero((marked != plain).any(axis=-1))
    pixels = marked.reshape(-1, 3)[drawn].astype(np.int32)
    to_mark = np.linalg.norm(pixels[:, None, :] - np.asarray(reserved)[None], axis=-1)
    to_picture = np.linalg.norm(pixels - plain.reshape(-1, 3)[drawn], axis=-1)
    take = to_mark.min(axis=1) < to_picture
    index.reshape(-1)[drawn[take]] = first + to_mark.argmin(axis=1)[take]
    out = Image.fromarray(index, "P")
    out.putpalette(palette + [c for colour in reserved for c in colour])
    return out


def write_tracking_gif(path: str | Path, clips: list[TrackedClip], fps: float = 15.0, step: int = 1,
                       colours: int = 48) -> Path:
    """Every ``step``-th frame of ``clips``, one clip after the other, as a looping GIF shown at
    ``fps`` (a ``colours``-colour palette per frame, boxes in their exact colours); returns the path."""

    if not clips:
        raise ValueError("write_tracking_gif needs at least one clip")
    if step < 1 or fps <= 0:
        raise ValueError(f"write_tracking_gif needs step >= 1 and fps > 0, got {step} and {fps}")
    images = [_gif_frame(clip, i, colours) for clip in clips for i in range(0, len(clip.rgb), step)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path
