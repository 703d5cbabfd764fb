"""The reference training objective: GIoU + L1 on the predicted box, focal loss on the score map.

``total = w_giou * GIoU loss + w_l1 * L1 loss + w_focal * focal loss`` with the reference
weights ``giou=1, l1=14, focal=1`` (:class:`LossWeights`). Boxes are compared as normalized
``(x1, y1, x2, y2)`` of the search crop; the predicted box is the one read at the score map's
peak (the model's ``pred_boxes``). The score map is supervised with a CenterNet Gaussian centred
on the target's cell (:func:`gaussian_heatmap`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three terms (reference: GIoU 1, L1 14, focal 1)."""

    giou: float = 1.0
    l1: float = 14.0
    focal: float = 1.0


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def giou(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized IoU and IoU of paired boxes (N, 4) ``x1, y1, x2, y2`` -> two (N,) tensors.

    ``GIoU = IoU - (C - U) / C`` with C the area of the smallest enclosing box, U the union.
    """
    area_p = (pred_xyxy[:, 2] - pred_xyxy[:, 0]).clamp(min=0) * (pred_xyxy[:, 3] - pred_xyxy[:, 1]).clamp(min=0)
    area_g = (gt_xyxy[:, 2] - gt_xyxy[:, 0]).clamp(min=0) * (gt_xyxy[:, 3] - gt_xyxy[:, 1]).clamp(min=0)
    lt = torch.maximum(pred_xyxy[:, :2], gt_xyxy[:, :2])
    rb = torch.minimum(pred_xyxy[:, 2:], gt_xyxy[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    union = area_p + area_g - inter
    iou = inter / union
    enclose = (torch.maximum(pred_xyxy[:, 2:], gt_xyxy[:, 2:]) - torch.minimum(pred_xyxy[:, :2], gt_xyxy[:, :2])
               ).clamp(min=0).prod(dim=1)
    return iou - (enclose - union) / enclose, iou


def giou_loss(pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean(1 - GIoU)`` and the mean IoU (detached) over the batch."""
    g, iou = giou(pred_xyxy, gt_xyxy)
    return (1 - g).mean(), iou.detach().mean()


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CenterNet's Gaussian radius for a box of ``height x width`` cells: the smallest of the three
    corner-shift radii keeping IoU >= ``min_overlap``, in the exact form the reference uses
    (including CenterNet's ``(b + sqrt(b^2 - 4ac)) / 2`` without the ``1/a``)."""
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2 ** 2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def gaussian_heatmap(boxes_cxcywh: torch.Tensor, feat_size: int, min_overlap: float = 0.7) -> torch.Tensor:
    """Score-map targets (B, 1, F, F) for boxes (B, 4) normalized ``(cx, cy, w, h)``.

    For each box: centre cell ``round(c * F)`` (half to even, as torch; clamped to the map), radius
    ``r = max(0, int(gaussian_radius(h * F, w * F)))``, ``sigma = (2r + 1) / 6``; the map is
    ``exp(-(dx^2 + dy^2) / (2 sigma^2))`` within ``r`` cells of the centre (1 at the centre cell),
    0 elsewhere and where the value is below ``eps * 1``.
    """
    boxes = boxes_cxcywh.detach().float().cpu()
    out = torch.zeros(boxes.shape[0], 1, feat_size, feat_size)
    grid = torch.arange(feat_size, dtype=torch.float32)
    for b, (cx, cy, w, h) in enumerate(boxes.tolist()):
        r = max(0, int(gaussian_radius(h * feat_size, w * feat_size, min_overlap)))
        sigma = (2 * r + 1) / 6
        ix = min(max(round(cx * feat_size), 0), feat_size - 1)
        iy = min(max(round(cy * feat_size), 0), feat_size - 1)
        dx, dy = grid - ix, grid - iy
        g = torch.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * sigma * sigma))
        g[g < torch.finfo(torch.float32).eps * g.max()] = 0
        inside = (dy.abs()[:, None] <= r) & (dx.abs()[None, :] <= r)
        out[b, 0] = torch.where(inside, g, torch.zeros(()))
    return out.to(boxes_cxcywh.device)


def focal_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on probabilities ``pred`` (already in (0, 1)).

    Positives are the cells where ``target == 1``:
    ``pos = log(p) (1 - p)^alpha``, ``neg = log(1 - p) p^alpha (1 - target)^beta``;
    ``loss = -(sum pos + sum neg) / num_pos`` (``-sum neg`` when there is no positive).
    """
    pos = target.eq(1).float()
    neg = 1.0 - pos
    pos_loss = (torch.log(pred) * (1 - pred) ** alpha * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred ** alpha * (1 - target) ** beta * neg).sum()
    num_pos = pos.sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


def tracking_loss(outputs: dict, gt_cxcywh: torch.Tensor, weights: LossWeights,
                  heatmap: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Total loss and its parts for model ``outputs`` and normalized ground truth (B, 4) ``cx, cy, w, h``.

    Returns ``(total, stats)`` with float stats ``loss``, ``giou``, ``l1``, ``focal``, ``iou``.
    """
    pred = outputs["pred_boxes"].reshape(-1, 4)
    if not torch.isfinite(pred).all():
        raise FloatingPointError("the network predicted NaN/inf boxes: training diverged "
                                 "(lower the learning rate or check the inputs)")
    pred_xyxy = cxcywh_to_xyxy(pred)
    gt_xyxy = cxcywh_to_xyxy(gt_cxcywh.to(pred)).clamp(0.0, 1.0)
    l_giou, mean_iou = giou_loss(pred_xyxy, gt_xyxy)
    l_l1 = F.l1_loss(pred_xyxy, gt_xyxy)
    if heatmap is None:
        heatmap = gaussian_heatmap(gt_cxcywh, outputs["score_map"].shape[-1])
    l_focal = focal_loss(outputs["score_map"], heatmap.to(outputs["score_map"]))
    total = weights.giou * l_giou + weights.l1 * l_l1 + weights.focal * l_focal
    stats = {"loss": total.item(), "giou": l_giou.item(), "l1": l_l1.item(), "focal": l_focal.item(),
             "iou": mean_iou.item()}
    return total, stats
