"""Evaluation reports: per-sequence and overall tables (markdown + JSON) and success/precision plots.

Inputs are the dicts of :func:`.metrics.evaluate_sequence` (per sequence) and
:func:`.metrics.summarize` (overall). All scores in the tables are percentages, like the paper.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping

import numpy as np

from . import metrics

# column key -> (markdown heading, format)
COLUMNS = {
    "sequence": ("sequence", "{}"),
    "frames": ("frames", "{}"),
    "valid_frames": ("valid", "{}"),
    "auc": ("AUC (SR) %", "{:.2f}"),
    "auc_ci95": ("SR 95% interval", "{0[0]:.1f}-{0[1]:.1f}"),
    "precision_20": ("PR@20px %", "{:.2f}"),
    "norm_precision_20": ("NPR@0.2 %", "{:.2f}"),
    "op50": ("OP50 %", "{:.2f}"),
    "op75": ("OP75 %", "{:.2f}"),
    "avg_overlap": ("mean IoU", "{:.4f}"),
    "fps": ("FPS", "{:.1f}"),
}


def sequence_row(name: str, result: Mapping, fps: float | None = None) -> dict:
    """One table row (percent scores) from an :func:`~.metrics.evaluate_sequence` result."""
    one = metrics.summarize([result])
    return {"sequence": name, "frames": int(result["num_frames"]), "valid_frames": int(np.sum(result["valid"])),
            "auc": one["auc"], "precision_20": one["precision_20"], "norm_precision_20": one["norm_precision_20"],
            "op50": one["op50"], "op75": one["op75"], "avg_overlap": float(result["avg_overlap"]),
            "fps": None if fps is None else float(fps)}


def overall_row(summary: Mapping, fps: float | None = None, valid_frames: int | None = None) -> dict:
    return {"sequence": f"ALL ({summary['num_sequences']} sequences)", "frames": int(summary["num_frames"]),
            "valid_frames": valid_frames, "auc": summary["auc"], "auc_ci95": summary["auc_ci95"],
            "precision_20": summary["precision_20"],
            "norm_precision_20": summary["norm_precision_20"], "op50": summary["op50"], "op75": summary["op75"],
            "avg_overlap": None, "fps": None if fps is None else float(fps)}


def _cell(key: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return COLUMNS[key][1].format(value)


def markdown_table(rows: list[dict]) -> str:
    keys = [k for k in COLUMNS if any(row.get(k) is not None for row in rows)]
    lines = ["| " + " | ".join(COLUMNS[k][0] for k in keys) + " |",
             "|" + "|".join("---" if k == "sequence" else "---:" for k in keys) + "|"]
    lines += ["| " + " | ".join(_cell(k, row.get(k)) for k in keys) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def write_report(out_dir: str | Path, results: Mapping[str, Mapping], *, fps: Mapping[str, float] | None = None,
                 overall_fps: float | None = None, title: str = "Tracking evaluation", label: str = "fetrack",
                 meta: Mapping | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.json``, ``success.png`` and ``precision.png`` into ``out_dir``.

    Args:
        results: sequence name -> :func:`~.metrics.evaluate_sequence` result (table order kept).
        fps: optional sequence name -> frames per second; ``overall_fps`` for the whole run.
        label: the tracker's name in the plot legends; ``meta``: extra JSON (settings, versions).
    Returns the written paths by kind (``markdown``, ``json``, ``success_plot``, ``precision_plot``).
    """
    if not results:
        raise ValueError("write_report() needs at least one evaluated sequence")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fps = fps or {}
    rows = [sequence_row(name, res, fps.get(name)) for name, res in results.items()]
    summary = metrics.summarize(list(results.values()))
    total = overall_row(summary, overall_fps, sum(r["valid_frames"] for r in rows))
    md = (f"# {title}\n\n## Overall\n\n{markdown_table([total])}\n"
          f"AUC = mean success over IoU thresholds 0:0.05:1; PR@20px = precision at 20 px center error; "
          f"NPR@0.2 = normalized precision at 0.2; averaged over sequences (reference toolkit rules). "
          f"SR 95% interval: bootstrap over sequences (how far the mean could move with other "
          f"sequences of the same kind).\n\n"
          f"## Per sequence\n\n{markdown_table(rows)}")
    paths = {"markdown": out_dir / "report.md", "json": out_dir / "report.json",
             "success_plot": out_dir / "success.png", "precision_plot": out_dir / "precision.png"}
    paths["markdown"].write_text(md)
    curves = {k: summary[k] for k in ("success_curve", "precision_curve", "norm_precision_curve",
                                      "overlap_thresholds", "center_thresholds_px", "center_thresholds_norm")}
    payload = {"title": title, "label": label, "overall": total, "sequences": rows, "curves_percent": curves,
               "sequence_curves": {name: {k: res[k] for k in ("success_curve", "precision_curve",
                                                             "norm_precision_curve")}
                                   for name, res in results.items()},
               "meta": dict(meta or {})}
    paths["json"].write_text(json.dumps(_jsonable(payload), indent=1))
    plot_success({label: summary}, paths["success_plot"], title=f"Success plot: {title}")
    plot_precision({label: summary}, paths["precision_plot"], title=f"Precision plot: {title}")
    return paths


def _figure():
    import matplotlib
    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    return plt, fig, ax


def plot_success(summaries: Mapping[str, Mapping], path: str | Path, title: str = "Success plot") -> Path:
    """Success curves (percent vs IoU threshold) of one or more summaries, legend sorted by AUC."""
    plt, fig, ax = _figure()
    for label, s in sorted(summaries.items(), key=lambda kv: -kv[1]["auc"]):
        ax.plot(metrics.OVERLAP_THRESHOLDS, s["success_curve"], linewidth=2, label=f"{label} [{s['auc']:.1f}]")
    ax.set(xlabel="Overlap threshold", ylabel="Overlap precision [%]", title=title, xlim=(0, 1), ylim=(0, 100))
    return _finish(plt, fig, ax, path, legend_loc="lower left")


def plot_precision(summaries: Mapping[str, Mapping], path: str | Path, title: str = "Precision plot") -> Path:
    """Precision curves (percent vs center error 0..50 px), legend sorted by precision at 20 px."""
    plt, fig, ax = _figure()
    for label, s in sorted(summaries.items(), key=lambda kv: -kv[1]["precision_20"]):
        ax.plot(metrics.CENTER_THRESHOLDS_PX, s["precision_curve"], linewidth=2,
                label=f"{label} [{s['precision_20']:.1f}]")
    ax.axvline(metrics.PRECISION_THRESHOLD_PX, color="gray", linestyle=":", linewidth=1)
    ax.set(xlabel="Location error threshold [pixels]", ylabel="Distance precision [%]", title=title,
           xlim=(0, 50), ylim=(0, 100))
    return _finish(plt, fig, ax, path, legend_loc="lower right")


def _finish(plt, fig, ax, path, legend_loc: str) -> Path:
    ax.grid(True, linestyle="--", alpha=0.5)
    ax.legend(loc=legend_loc)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
