"""Training data and training steps on the CPU.

1. Simulator throughput at 346x260 (DAVIS346): frames/s of :class:`SyntheticSequence` with events
   (6+ samples per frame interval) and without, and the cost of sending the events through the
   EVT3 path (encode 1 ms packets, decode, buffer, window).
2. Training pairs/s from the synthetic source (clips reused for 8 pairs), at the crop sizes of the
   packaged default model and of the reference (128/256).
3. One optimisation step (forward, losses, backward, clipping, AdamW) at batch 16 with one torch
   thread, for the packaged default model's architecture and for vim_t depth 2 at the reference crops.

Target ("fast enough to generate training data on the fly"): one data process feeds one training
process, i.e. pairs/s >= batch / step time.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from bench.timing import median_seconds
from fetrack_ros.training.config import TrainConfig
from fetrack_ros.training.sampling import PairSampler, SyntheticSource
from fetrack_ros.simulation.simulator import SimConfig, SyntheticSequence

FRAMES = 20
BATCH = 16
REFERENCE_CROPS = {"depth": 2, "template_size": 128, "search_size": 256}


def _default_model_overrides() -> dict:
    """``build_model("vim_t", **overrides)`` arguments of the packaged model's architecture."""
    from fetrack_ros.model import default_checkpoint, read_checkpoint

    path = default_checkpoint()
    if path is None:
        raise RuntimeError("the packaged default model (resource/default_model.pt) is missing")
    config = read_checkpoint(path)[1]
    return {k: v for k, v in config.to_dict().items() if k not in ("name", "scan_backend")}


def _simulator_rows() -> list[dict]:
    rows = []
    for events in (True, False):
        config = SimConfig(num_frames=FRAMES, events=events)
        seeds = iter(range(1000))
        counts = []

        def run():
            frames = list(SyntheticSequence(next(seeds), config).frames())
            counts.append(sum(len(f.events) for f in frames) / len(frames))
        sec = median_seconds(run, warmup=1, repeats=5)
        rows.append({"measurement": f"simulate 346x260 ({'RGB + events' if events else 'RGB only'})",
                     "median_ms": sec / FRAMES * 1e3, "rate": FRAMES / sec, "unit": "frames/s",
                     "detail": f"{np.median(counts):.0f} events/frame" if events else ""})
    from fetrack_ros.simulation.event_path import through_evt3
    seq = SyntheticSequence(7, SimConfig(num_frames=FRAMES))
    frame_events = [f.events for f in seq.frames()]
    sec = median_seconds(lambda: through_evt3(seq, frame_events), warmup=1, repeats=5)
    rows.append({"measurement": "EVT3 path (1 ms packets, decode, buffer, windows)", "median_ms": sec / FRAMES * 1e3,
                 "rate": FRAMES / sec, "unit": "frames/s",
                 "detail": f"{np.mean([len(e) for e in frame_events]):.0f} events/frame"})
    return rows


def _pair_rate(template: int, search: int) -> float:
    config = TrainConfig.from_dict({})
    source = SyntheticSource(SimConfig(num_frames=40), reuse=8)
    sampler = PairSampler([source], None, config.pair_settings(template, search))
    rng = np.random.default_rng(0)
    n = 32
    start = time.perf_counter()
    for _ in range(n):
        sampler.sample(rng)
    return n / (time.perf_counter() - start)


def _step_seconds(overrides: dict) -> tuple[float, int]:
    from fetrack_ros.model import build_model
    from fetrack_ros.tracking.normalize import PatchNormalizer
    from fetrack_ros.training.trainer import build_optimizer, collate_pairs, freeze_unused, train_step

    torch.manual_seed(0)
    model = build_model("vim_t", **overrides).train()
    freeze_unused(model)
    cfg = model.config
    config = TrainConfig.from_dict({})
    sampler = PairSampler([SyntheticSource(SimConfig(num_frames=20), reuse=BATCH)], None,
                          config.pair_settings(cfg.template_size, cfg.search_size))
    rng = np.random.default_rng(0)
    batch = collate_pairs([sampler.sample(rng) for _ in range(BATCH)])
    optimizer = build_optimizer(model, 4e-4, 1e-4, 0.1)
    normalize = PatchNormalizer("cpu")
    sec = median_seconds(lambda: train_step(model, optimizer, batch, normalize, config), warmup=1, repeats=3)
    return sec, sum(p.numel() for p in model.parameters())


def run() -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = _simulator_rows()
        default = _default_model_overrides()
        default_crops = (default["template_size"], default["search_size"])
        pair_rates = {}
        for t, s in (default_crops, (128, 256)):
            pair_rates[(t, s)] = _pair_rate(t, s)
            rows.append({"measurement": f"training pairs {t}/{s} (clip reused 8x)", "median_ms": 1e3 / pair_rates[(t, s)],
                         "rate": pair_rates[(t, s)], "unit": "pairs/s", "detail": "40-frame clips"})
        steps = {}
        default_label = "default model, {}/{}".format(*default_crops)
        for label, overrides in ((default_label, default), ("vim_t depth 2, 128/256", REFERENCE_CROPS)):
            sec, params = _step_seconds(overrides)
            steps[label] = sec
            rows.append({"measurement": f"train step B{BATCH}, {label}", "median_ms": sec * 1e3, "rate": BATCH / sec,
                         "unit": "pairs/s", "detail": f"{params / 1e6:.2f} M params, 1 thread"})
    finally:
        torch.set_num_threads(threads)
    need = BATCH / steps[default_label]
    have = pair_rates[default_crops]
    notes = [
        f"simulator: {rows[0]['rate']:.0f} frames/s with events, {rows[1]['rate']:.0f} RGB only (346x260, one process)",
        f"data vs training ({default_label}): {have:.1f} pairs/s generated vs {need:.1f} pairs/s consumed "
        f"-> ratio {have / need:.2f} ({'met' if have >= need else 'missed'}: one data worker "
        f"{'keeps up' if have >= need else 'does not keep up; raise data.sources[].reuse or num_workers'})",
        "measured on the shared 2-core machine with other jobs running: absolute times are noisy",
    ]
    return {"title": "Training: synthetic data and optimisation steps (CPU)", "rows": rows, "notes": notes}
