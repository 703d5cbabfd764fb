"""Training curves as a PNG: what a person watching a run wants to see at a glance."""
from __future__ import annotations

from pathlib import Path

LOSS_KEYS = ("loss", "giou", "l1", "focal")          # per-epoch means logged by the trainer
VALIDATION_KEYS = (("all_auc", "validation SR"), ("all_precision_20", "validation PR@20"),
                   ("degraded_auc", "validation SR, degraded RGB"))


def plot_history(history: list[dict], path: str | Path, title: str = "Training") -> Path:
    """Per-epoch losses (left) and training IoU with the validation metrics where measured (right).

    ``history``: the trainer's records (``log.jsonl`` lines), each with ``epoch`` and the keys
    above; missing keys are skipped. Written atomically enough for a viewer refreshing it.
    """
    import matplotlib
    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    epochs = [r["epoch"] for r in history]
    for key in LOSS_KEYS:
        points = [(r["epoch"], r[key]) for r in history if key in r]
        if points:
            left.plot(*zip(*points), marker=".", label=key)
    left.set(xlabel="epoch", ylabel="loss (epoch mean)", title=f"{title}: losses", yscale="log")
    points = [(r["epoch"], 100 * r["iou"]) for r in history if "iou" in r]
    if points:
        right.plot(*zip(*points), marker=".", label="training IoU x 100")
    for key, label in VALIDATION_KEYS:
        points = [(r["epoch"], r[key]) for r in history if key in r]
        if points:
            right.plot(*zip(*points), marker="o", label=label)
    right.set(xlabel="epoch", ylabel="percent", title=f"{title}: IoU and validation", ylim=(0, 100))
    for ax in (left, right):
        ax.grid(True, linestyle="--", alpha=0.5)
        if epochs:
            ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial.png")
    fig.savefig(partial)
    plt.close(fig)
    partial.replace(path)
    return path
