"""The debug image: the RGB image with the box, confidence and status drawn on it (OpenCV)."""
from __future__ import annotations

import cv2
import numpy as np

#: Box colour per status name (RGB, the names of fetrack_ros.messages.track.STATUS_CODES):
#: tracking green, low confidence yellow, lost red, uninitialized grey.
STATUS_COLOURS = {
    "tracking": (40, 220, 40),
    "low_confidence": (240, 200, 20),
    "lost": (230, 40, 40),
    "uninitialized": (160, 160, 160),
}


def annotate(rgb: np.ndarray, box, confidence: float | None, status: str) -> np.ndarray:
    """A copy of ``rgb`` (H x W x 3 uint8) with ``box`` ``[x, y, w, h]`` (px, or None) and a label."""
    out = np.ascontiguousarray(rgb).copy()
    colour = STATUS_COLOURS.get(status, (255, 255, 255))
    label = status if confidence is None else f"{status} {confidence:.2f}"
    thickness = max(1, round(min(out.shape[:2]) / 240))
    if box is not None:
        x, y, w, h = (float(v) for v in box)
        cv2.rectangle(out, (round(x), round(y)), (round(x + w), round(y + h)), colour, thickness)
        anchor = (max(0, round(x)), max(12, round(y) - 4))
    else:
        anchor = (4, 14)
    scale = 0.4 * thickness
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x0, y0 = anchor
    cv2.rectangle(out, (x0, y0 - th - base), (x0 + tw, y0 + base), (0, 0, 0), cv2.FILLED)
    cv2.putText(out, label, (x0, y0), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return out
