"""From the network's maps to an image box: Hann window, box decoding, map-back and clipping.

All functions reproduce the reference tracker's arithmetic (float32 tensor ops where it uses
tensors, Python floats where it uses Python floats), so boxes agree with it to float rounding.
"""
from __future__ import annotations

import math

import torch


def hann2d(size: int) -> torch.Tensor:
    """Centred 2-D Hann window, shape ``(1, 1, size, size)``, float32.

    1-D: ``0.5 * (1 - cos(2*pi*k / (size + 1)))`` for ``k = 1..size`` (never zero at the border);
    2-D: the outer product of two of them.
    """
    k = torch.arange(1, size + 1).float()
    w1 = 0.5 * (1 - torch.cos((2 * math.pi / (size + 1)) * k))
    return w1.reshape(1, 1, -1, 1) * w1.reshape(1, 1, 1, -1)


def decode_box(score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor,
               window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Box at the peak of the windowed score map (the reference ``cal_bbox``), batch 1.

    ``score_map`` (1,1,n,n) in [0,1], ``size_map`` (1,2,n,n) (w, h as fractions of the search
    crop), ``offset_map`` (1,2,n,n) (x, y offsets in cells), ``window`` (1,1,n,n).
    Returns ``(box, argmax, peak)``: ``box`` (4,) float32 ``(cx, cy, w, h)`` normalized to the
    search crop; ``argmax`` the flat index ``row * n + col`` of the windowed peak (0-d int64);
    ``peak`` the maximum of the **unwindowed** score map (0-d), the tracker's confidence.
    """
    n = score_map.shape[-1]
    windowed = (window * score_map).flatten(1)
    idx = torch.max(windowed, dim=1, keepdim=True)[1]          # (1,1)
    idx_y = torch.div(idx, n, rounding_mode="floor")
    idx_x = idx % n
    gather_idx = idx.unsqueeze(1).expand(1, 2, 1)
    size = size_map.flatten(2).gather(dim=2, index=gather_idx).squeeze(-1)       # (1,2)
    offset = offset_map.flatten(2).gather(dim=2, index=gather_idx).squeeze(-1)   # (1,2)
    box = torch.cat([(idx_x.to(torch.float) + offset[:, :1]) / n,
                     (idx_y.to(torch.float) + offset[:, 1:]) / n,
                     size], dim=1)
    return box[0], idx[0, 0], score_map.max()


def map_box_back(box_cxcywh_px, prev_box_xywh, search_size: int, resize_factor: float) -> list[float]:
    """Box in crop pixels ``(cx, cy, w, h)`` (already scaled to image units) -> image ``[x, y, w, h]``.

    The search crop is centred on the previous box's centre and spans
    ``search_size / resize_factor`` image pixels.
    """
    cx_prev = prev_box_xywh[0] + 0.5 * prev_box_xywh[2]
    cy_prev = prev_box_xywh[1] + 0.5 * prev_box_xywh[3]
    cx, cy, w, h = box_cxcywh_px
    half_side = 0.5 * search_size / resize_factor
    cx_real = cx + (cx_prev - half_side)
    cy_real = cy + (cy_prev - half_side)
    return [cx_real - 0.5 * w, cy_real - 0.5 * h, w, h]


def damp_size(box_xywh, prev_box_xywh, rate: float) -> list[float]:
    """``box`` with its width and height moved only ``rate`` of the way (in log space) from the
    previous box's: ``w = w_prev * (w / w_prev) ** rate``; the centre stays the box's. Pixels."""
    x, y, w, h = box_xywh
    if rate == 1.0:
        return [x, y, w, h]
    cx, cy = x + 0.5 * w, y + 0.5 * h
    w = prev_box_xywh[2] * (w / prev_box_xywh[2]) ** rate
    h = prev_box_xywh[3] * (h / prev_box_xywh[3]) ** rate
    return [cx - 0.5 * w, cy - 0.5 * h, w, h]


def clip_box(box_xywh, image_hw: tuple[int, int], margin: float) -> list[float]:
    """Keep at least ``margin`` pixels of the box inside the image, and the box at least ``margin`` wide/high.

    ``x1`` is clamped to ``[0, W - margin]``, ``x2`` to ``[margin, W]``, ``w = max(margin, x2 - x1)``
    (same for y), as the reference ``clip_box``.
    """
    im_h, im_w = image_hw
    x1, y1, w, h = box_xywh
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), im_w - margin)
    x2 = max(min(im_w, x2), margin)
    y1 = min(max(0, y1), im_h - margin)
    y2 = max(min(im_h, y2), margin)
    return [x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)]


def next_failure_count(count: int, peak: float, peak_threshold: float) -> int:
    """Failed-search counter after a frame: +1 on a low peak, otherwise -1 down to 0."""
    if peak < peak_threshold:
        return count + 1
    return count - 1 if count > 0 else 0
