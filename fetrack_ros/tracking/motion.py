"""Constant-velocity prediction of where to search next (an option; the reference has none).

The reference centres each search crop on the previous box. A target that moves fast between
frames lands off-centre, where the Hann window of the score map penalises it, or outside the
crop. Centring the crop on ``previous centre + gain * last displacement`` follows steady motion.
"""
from __future__ import annotations


def box_centre(box_xywh) -> tuple[float, float]:
    """Centre ``(cx, cy)`` in pixels of an ``[x, y, w, h]`` box."""
    return box_xywh[0] + 0.5 * box_xywh[2], box_xywh[1] + 0.5 * box_xywh[3]


def centre_displacement(previous_xywh, current_xywh) -> tuple[float, float]:
    """How far the box centre moved, ``(dx, dy)`` in pixels."""
    (px, py), (cx, cy) = box_centre(previous_xywh), box_centre(current_xywh)
    return cx - px, cy - py


def predicted_search_box(box_xywh, displacement: tuple[float, float], gain: float,
                         image_hw: tuple[int, int]) -> list[float]:
    """``box`` moved by ``gain * displacement`` pixels, its centre kept inside the image so that a
    crop around it always overlaps the image; the size is unchanged. ``gain == 0`` returns the box
    as it is (bit-identical reference search)."""
    box = [float(v) for v in box_xywh]
    if gain == 0:
        return box
    x, y, w, h = box
    im_h, im_w = image_hw
    cx = min(max(x + 0.5 * w + gain * displacement[0], 0.0), float(im_w))
    cy = min(max(y + 0.5 * h + gain * displacement[1], 0.0), float(im_h))
    return [cx - 0.5 * w, cy - 0.5 * h, w, h]
