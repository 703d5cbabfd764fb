"""Checks and conversions of what callers hand to the tracker: images, event frames, boxes."""
from __future__ import annotations

import math

import cv2
import numpy as np

#: Largest relative difference of width/height ratios for which an event frame of another size
#: is still taken to show the same field of view as the RGB image.
EVENT_ASPECT_TOLERANCE = 0.01


def check_image(image, name: str) -> np.ndarray:
    """An ``H x W x 3`` uint8 array, made C-contiguous (cv2 needs it); else a clear error."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (H x W x 3 uint8 RGB), got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8 (H x W x 3 RGB), got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{name} must have shape (H, W, 3) with H, W >= 1, got {image.shape}")
    return np.ascontiguousarray(image)


def match_event_frame(event_frame: np.ndarray, rgb_hw: tuple[int, int]) -> np.ndarray:
    """The event frame at the RGB image's size.

    An event frame of another size is resized to the RGB size with nearest-neighbour
    interpolation, which keeps the rendering's palette (no blended colours). This assumes both
    images show the same field of view (one sensor such as the DAVIS346, or registered cameras);
    a different width/height ratio (beyond 1 %) cannot be that and raises ``ValueError``.
    """
    ev_h, ev_w = event_frame.shape[:2]
    im_h, im_w = rgb_hw
    if (ev_h, ev_w) == (im_h, im_w):
        return event_frame
    ratio = (ev_w / ev_h) / (im_w / im_h)
    if abs(ratio - 1.0) > EVENT_ASPECT_TOLERANCE:
        raise ValueError(f"event frame is {ev_w}x{ev_h} but the RGB image is {im_w}x{im_h}: different "
                         f"aspect ratios, so they cannot show the same field of view; render the "
                         f"events in the RGB camera's geometry")
    return cv2.resize(event_frame, (im_w, im_h), interpolation=cv2.INTER_NEAREST)


def check_box(box, image_hw: tuple[int, int]) -> list[float]:
    """An initial box ``[x, y, w, h]`` (pixels) as 4 Python floats; rejects what cannot be tracked.

    Errors: not 4 numbers, NaN/inf, width or height <= 0, box entirely outside the image.
    """
    try:
        values = [float(v) for v in np.asarray(box, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"box must be 4 numbers [x, y, w, h] in pixels, got {box!r}") from exc
    if len(values) != 4:
        raise ValueError(f"box must be 4 numbers [x, y, w, h] in pixels, got {len(values)} values: {box!r}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"box must be finite, got {values}")
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be > 0, got w={w}, h={h}")
    im_h, im_w = image_hw
    if x >= im_w or y >= im_h or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {values} lies entirely outside the {im_w}x{im_h} image")
    return values
