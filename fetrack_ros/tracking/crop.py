"""Square context crops around a box, exactly as the reference tracker makes them.

The official weights were trained and evaluated with these crops, so the geometry follows the
reference ``sample_target`` bit for bit, quirks included:

- side ``crop_sz = ceil(sqrt(w * h) * factor)`` pixels, centred on the box centre, corners from
  Python ``round`` (half to even);
- the part outside the image is zero-padded, but the right/bottom padding is
  ``max(x2 - W + 1, 0)``: when the crop reaches the right (bottom) edge, the last image column
  (row) is dropped and one extra zero column (row) is padded;
- the padded crop is resized to ``output_size`` with ``cv2.resize`` INTER_LINEAR.

Everything runs on uint8 host arrays (one small copy of the crop region, one resize); the
caller moves the finished patches to the model's device in one transfer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropGeometry:
    """Where a square crop lies in the image (pixels, integer corners, exclusive ends).

    ``x1, y1`` is the top-left of the full crop (may be negative), ``size`` its side before
    resizing. ``pad_*`` are the zero rows/columns added on each side (the right/bottom ones
    include the reference's off-by-one). ``resize_factor = output_size / size``.
    """

    x1: int
    y1: int
    size: int
    pad_left: int
    pad_right: int
    pad_top: int
    pad_bottom: int
    resize_factor: float

    @property
    def inside_x1x2y1y2(self) -> tuple[int, int, int, int]:
        """The image region copied into the crop, ``(x1, x2, y1, y2)`` (the reference's crop_coor)."""
        return (self.x1 + self.pad_left, self.x1 + self.size - self.pad_right,
                self.y1 + self.pad_top, self.y1 + self.size - self.pad_bottom)


def crop_geometry(box_xywh, factor: float, output_size: int, image_hw: tuple[int, int]) -> CropGeometry:
    """Geometry of the reference crop of ``factor`` times the box's area-equivalent side.

    ``box_xywh``: ``[x, y, w, h]`` float pixels (w, h > 0); ``image_hw``: ``(H, W)``.
    Raises ``ValueError`` when the crop would not overlap the image (the tracker's clipped
    boxes always overlap it; an unclipped box far outside could not be cropped).
    """
    x, y, w, h = (float(v) for v in box_xywh)
    crop_sz = math.ceil(math.sqrt(w * h) * factor)
    if crop_sz < 1:
        raise ValueError(f"crop of box {list(box_xywh)} at factor {factor} is empty (side {crop_sz} px)")
    # Same expression order as the reference, so float rounding (and round-half-even) agree.
    x1 = round(x + 0.5 * w - crop_sz * 0.5)
    y1 = round(y + 0.5 * h - crop_sz * 0.5)
    x2, y2 = x1 + crop_sz, y1 + crop_sz
    im_h, im_w = image_hw
    geo = CropGeometry(x1=x1, y1=y1, size=crop_sz,
                       pad_left=max(0, -x1), pad_right=max(x2 - im_w + 1, 0),
                       pad_top=max(0, -y1), pad_bottom=max(y2 - im_h + 1, 0),
                       resize_factor=output_size / crop_sz)
    ix1, ix2, iy1, iy2 = geo.inside_x1x2y1y2
    if ix2 <= ix1 or iy2 <= iy1:
        raise ValueError(f"crop {crop_sz} px around box {list(box_xywh)} does not overlap the "
                         f"{im_w}x{im_h} image")
    return geo


def crop_patch(image: np.ndarray, geo: CropGeometry, output_size: int) -> np.ndarray:
    """Cut, zero-pad and resize the crop ``geo`` of an ``H x W x C`` uint8 image.

    Returns an ``output_size x output_size x C`` uint8 array (bit-identical to the reference).
    """
    ix1, ix2, iy1, iy2 = geo.inside_x1x2y1y2
    region = image[iy1:iy2, ix1:ix2]
    if geo.pad_left or geo.pad_right or geo.pad_top or geo.pad_bottom:
        region = cv2.copyMakeBorder(region, geo.pad_top, geo.pad_bottom, geo.pad_left, geo.pad_right,
                                    cv2.BORDER_CONSTANT, value=0)
    return cv2.resize(region, (output_size, output_size), interpolation=cv2.INTER_LINEAR)
