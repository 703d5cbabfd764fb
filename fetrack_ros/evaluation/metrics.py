"""Single-object tracking metrics, exactly as the reference toolkit computes them.

Rules (the reference's, verified against ``test/fixtures/official/metrics_cases.json``; see
``docs/design.md``):

1. A prediction with w == 0 or h == 0 is replaced by the previous (already replaced) prediction,
   unless that frame's ground truth contains NaN.
2. Then the prediction list is truncated, or padded with zero rows, to the ground-truth length.
3. Then frame 0 is replaced by the ground truth (it is the initialisation box).
4. A frame is valid when its ground truth has w > 0 and h > 0. Invalid frames get IoU -1,
   center error +inf and normalized center error -1; every frame counts in the denominator
   (so invalid frames are misses for success and precision, but hits for normalized precision).
5. IoU on inclusive pixels (bottom-right = xy + wh - 1); centers at xy + (wh - 1) / 2; the
   normalized center error divides both centers by the ground-truth size first and subtracts
   after (in floating point that order matters at exact threshold boundaries).
6. Success counts IoU > t (strict), precision counts error <= t. Per-sequence curves are stored
   in float32; summaries are float32 means over sequences, times 100.

All boxes are ``[x, y, w, h]`` in pixels (top-left corner).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

#: IoU thresholds 0, 0.05, ..., 1.0 (21 values), bit-exact as the reference's float64
#: ``torch.arange(0, 1.05, 0.05)`` yields them: it rounds 0.65 and 0.75 one ulp higher than
#: numpy's arange or ``i * 0.05`` do, and the strict ``IoU > t`` test at those values depends on it.
OVERLAP_THRESHOLDS = np.array([
    0.0, 0.05, 0.1, 0.15000000000000002, 0.2, 0.25,
    0.30000000000000004, 0.35000000000000003, 0.4, 0.45, 0.5, 0.55,
    0.6000000000000001, 0.6500000000000001, 0.7000000000000001, 0.7500000000000001, 0.8, 0.8500000000000001,
    0.9, 0.9500000000000001, 1.0,
])
#: Center-error thresholds 0..50 px (51 values).
CENTER_THRESHOLDS_PX = np.arange(0, 51, dtype=np.float64)
#: Normalized center-error thresholds 0..0.50 (51 values).
CENTER_THRESHOLDS_NORM = np.arange(0, 51, dtype=np.float64) / 100.0

PRECISION_THRESHOLD_PX = 20
NORM_PRECISION_THRESHOLD_INDEX = 20  # 0.20
#: Resamples behind the 95 % intervals of :func:`summarize` (their last digit moves by ~0.1).
BOOTSTRAP_RESAMPLES = 10_000


def _as_boxes(boxes, name: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) as [x, y, w, h] rows, got shape {arr.shape}")
    return arr


def adjust_predictions(pred_xywh, gt_xywh) -> np.ndarray:
    """Apply rules 1-3 above; returns a float64 (len(gt), 4) array.

    Raises ValueError for NaN predictions, negative predicted sizes, NaN ground truth or an
    empty ground truth (the reference refuses these too).
    """
    pred = _as_boxes(pred_xywh, "pred_xywh").copy()
    gt = _as_boxes(gt_xywh, "gt_xywh")
    if gt.shape[0] == 0:
        raise ValueError("gt_xywh is empty: a sequence needs at least the initialisation frame")
    if np.isnan(pred).any():
        raise ValueError(f"pred_xywh contains NaN at frames {np.flatnonzero(np.isnan(pred).any(1)).tolist()[:10]}")
    if (pred[:, 2:] < 0).any():
        bad = np.flatnonzero((pred[:, 2:] < 0).any(1)).tolist()[:10]
        raise ValueError(f"pred_xywh has negative width or height at frames {bad}")
    if np.isnan(gt).any():
        raise ValueError(f"gt_xywh contains NaN at frames {np.flatnonzero(np.isnan(gt).any(1)).tolist()[:10]}")
    # Rule 1 is sequential: a run of zero-size boxes all inherit the last non-zero one.
    for i in range(1, pred.shape[0]):
        if (pred[i, 2:] == 0).any():
            pred[i] = pred[i - 1]
    n = gt.shape[0]
    if pred.shape[0] > n:
        pred = pred[:n]
    elif pred.shape[0] < n:
        pred = np.concatenate([pred, np.zeros((n - pred.shape[0], 4))], axis=0)
    pred[0] = gt[0]
    return pred


def iou_inclusive(a_xywh: np.ndarray, b_xywh: np.ndarray) -> np.ndarray:
    """Per-row IoU with inclusive pixel extents; (N, 4) x (N, 4) -> (N,) float64."""
    tl = np.maximum(a_xywh[:, :2], b_xywh[:, :2])
    br = np.minimum(a_xywh[:, :2] + a_xywh[:, 2:] - 1.0, b_xywh[:, :2] + b_xywh[:, 2:] - 1.0)
    inter = np.clip(br - tl + 1.0, 0.0, None).prod(axis=1)
    union = a_xywh[:, 2:].prod(axis=1) + b_xywh[:, 2:].prod(axis=1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def _centers(xywh: np.ndarray) -> np.ndarray:
    return xywh[:, :2] + 0.5 * (xywh[:, 2:] - 1.0)


def evaluate_sequence(pred_xywh, gt_xywh) -> dict:
    """Per-frame errors and per-sequence curves of one sequence.

    Args:
        pred_xywh: (M, 4) predicted boxes, frame 0 first (M may differ from N).
        gt_xywh: (N, 4) ground-truth boxes; rows with w <= 0 or h <= 0 mark invalid frames.

    Returns a dict of numpy arrays / floats:
        ``iou`` (N,) float64, -1 on invalid frames; ``center_error`` (N,) px, +inf on invalid;
        ``normalized_center_error`` (N,), -1 on invalid; ``valid`` (N,) bool;
        ``pred_xywh`` (N, 4) the adjusted predictions that were scored;
        ``success_curve`` (21,), ``precision_curve`` (51,), ``norm_precision_curve`` (51,)
        float32 fractions; ``avg_overlap`` mean IoU over valid frames (nan if none);
        ``num_frames`` N.
    """
    gt = _as_boxes(gt_xywh, "gt_xywh")
    pred = adjust_predictions(pred_xywh, gt)
    valid = (gt[:, 2] > 0) & (gt[:, 3] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = iou_inclusive(pred, gt)
        center = np.sqrt(((_centers(pred) - _centers(gt)) ** 2).sum(axis=1))
        # The reference's order: scale each center by the gt size, then subtract. Subtracting
        # first rounds differently, e.g. 0.2 instead of 0.20000000000000018, which flips
        # `error <= 0.2` on boundary frames.
        norm_center = np.sqrt(((_centers(pred) / gt[:, 2:] - _centers(gt) / gt[:, 2:]) ** 2).sum(axis=1))
    iou[~valid] = -1.0
    center[~valid] = np.inf
    norm_center[~valid] = -1.0
    if np.isnan(iou).any():
        raise ValueError(f"IoU is NaN at frames {np.flatnonzero(np.isnan(iou)).tolist()[:10]} "
                         "(zero-area prediction against a zero-area box)")
    n = np.float32(gt.shape[0])
    success = (iou[:, None] > OVERLAP_THRESHOLDS[None, :]).sum(0).astype(np.float32) / n
    precision = (center[:, None] <= CENTER_THRESHOLDS_PX[None, :]).sum(0).astype(np.float32) / n
    norm_precision = (norm_center[:, None] <= CENTER_THRESHOLDS_NORM[None, :]).sum(0).astype(np.float32) / n
    return {
        "num_frames": int(gt.shape[0]),
        "pred_xywh": pred,
        "iou": iou,
        "center_error": center,
        "normalized_center_error": norm_center,
        "valid": valid,
        "avg_overlap": float(iou[valid].mean()) if valid.any() else float("nan"),
        "success_curve": success,
        "precision_curve": precision,
        "norm_precision_curve": norm_precision,
    }


def summarize(results: Sequence[dict]) -> dict:
    """Average per-sequence curves (as returned by :func:`evaluate_sequence`) over sequences.

    Returns percentages (float): ``auc`` (mean of the mean success curve), ``precision_20``,
    ``norm_precision_20``, ``op50``, ``op75``; ``auc_ci95`` and ``precision_20_ci95``, their 95 %
    intervals over sequences (:func:`bootstrap_interval`); the mean curves in percent as float32 arrays
    (``success_curve``, ``precision_curve``, ``norm_precision_curve``); ``num_sequences``,
    ``num_frames``; and the threshold arrays for plotting.
    """
    results = list(results)
    if not results:
        raise ValueError("summarize() needs at least one evaluated sequence, got none")
    curves = {}
    for key in ("success_curve", "precision_curve", "norm_precision_curve"):
        stacked = np.stack([np.asarray(r[key], dtype=np.float32) for r in results])
        curves[key] = stacked.mean(axis=0, dtype=np.float32) * np.float32(100.0)
    success = curves["success_curve"]
    per_sequence = sequence_scores(results)
    return {
        "num_sequences": len(results),
        "num_frames": int(sum(int(r["num_frames"]) for r in results)),
        "auc": float(success.mean(dtype=np.float32)),
        "precision_20": float(curves["precision_curve"][PRECISION_THRESHOLD_PX]),
        "norm_precision_20": float(curves["norm_precision_curve"][NORM_PRECISION_THRESHOLD_INDEX]),
        "op50": float(success[10]),
        "op75": float(success[15]),
        "auc_ci95": bootstrap_interval(per_sequence["auc"]),
        "precision_20_ci95": bootstrap_interval(per_sequence["precision_20"]),
        **curves,
        "overlap_thresholds": OVERLAP_THRESHOLDS,
        "center_thresholds_px": CENTER_THRESHOLDS_PX,
        "center_thresholds_norm": CENTER_THRESHOLDS_NORM,
    }


def sequence_scores(results: Sequence[dict]) -> dict[str, np.ndarray]:
    """Per-sequence ``auc`` and ``precision_20`` in percent, (S,) float64 each: the values whose
    means :func:`summarize` reports (both are linear in the curves it averages)."""
    return {"auc": np.array([100.0 * float(np.mean(r["success_curve"], dtype=np.float32)) for r in results]),
            "precision_20": np.array([100.0 * float(r["precision_curve"][PRECISION_THRESHOLD_PX]) for r in results])}


def paired_differences(ours: dict, baseline: dict, names: Iterable[str] | None = None) -> dict:
    """Per-sequence SR and PR@20 differences ``ours - baseline`` on the same sequences, in points.

    ``ours`` / ``baseline``: ``{sequence: evaluate_sequence(...)}``, scored on the same frames;
    ``names``: the sequences to compare (default: all of ``ours``). Returns ``{"sr": ..., "pr20": ...}``,
    each ``{"mean", "ci95" (bootstrap_interval of the differences), "per_sequence" (list)}``. A paired
    difference cancels what makes a sequence hard for both trackers, so its interval is far
    narrower than the two means' intervals.
    """
    names = list(ours if names is None else names)
    missing = sorted(set(names) - set(ours) | set(names) - set(baseline))
    if missing or not names:
        raise ValueError(f"paired_differences() needs both trackers scored on every sequence; missing: {missing or 'all'}")
    for name in names:
        if ours[name]["num_frames"] != baseline[name]["num_frames"]:
            raise ValueError(f"sequence {name}: {ours[name]['num_frames']} frames scored for one tracker, "
                             f"{baseline[name]['num_frames']} for the other")
    a = sequence_scores([ours[n] for n in names])
    b = sequence_scores([baseline[n] for n in names])
    out = {}
    for key, metric in (("auc", "sr"), ("precision_20", "pr20")):
        diff = a[key] - b[key]
        out[metric] = {"mean": float(diff.mean()), "ci95": list(bootstrap_interval(diff)), "per_sequence": diff.tolist()}
    return out


def bootstrap_interval(values, confidence: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of per-sequence ``values``.

    Sequences are resampled with replacement ``resamples`` times (fixed ``seed``: the same
    results give the same interval). Scores of tracking benchmarks vary far more between
    sequences than between frames, so this says how much a mean over a few dozen sequences can
    be trusted. For a paired comparison of two trackers on the same sequences pass the
    per-sequence differences.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"bootstrap_interval() needs finite per-sequence values, got {values.size} values "
                         f"({int(np.count_nonzero(~np.isfinite(values)))} not finite)")
    if not 0.0 < confidence < 1.0 or resamples < 1:
        raise ValueError(f"bootstrap_interval(): confidence must be in (0, 1) and resamples >= 1, "
                         f"got {confidence} and {resamples}")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    block = max(1, 2_000_000 // values.size)  # resamples per block: bounded index memory
    for start in range(0, resamples, block):
        picks = rng.integers(values.size, size=(min(block, resamples - start), values.size))
        means[start:start + len(picks)] = values[picks].mean(axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def fps(frame_seconds: Iterable[float]) -> float:
    """Frames per second from per-frame processing times in seconds: N / sum(times).

    Over several sequences pass all frames' times together (total frames / total time).
    """
    times = np.asarray(list(frame_seconds), dtype=np.float64)
    if times.size == 0:
        raise ValueError("fps() needs at least one frame time, got none")
    if (times < 0).any() or not np.isfinite(times).all():
        raise ValueError("frame times must be finite and >= 0 seconds")
    total = times.sum()
    return float("inf") if total == 0 else float(times.size / total)
