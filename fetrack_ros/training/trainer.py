"""The training loop: batches of pairs, the reference loss and optimiser, checkpoints, resume,
validation with the real tracker, and DDP (``torchrun``) across processes or GPUs.

Reference recipe: AdamW (``lr``, ``weight_decay``) with the backbone's parameters at
``lr * backbone_lr_multiplier``, the learning rate multiplied by ``lr_drop_gamma`` every
``lr_drop_epoch`` epochs (step decay), gradients clipped to norm ``grad_clip_norm``, routing by
hard Gumbel-softmax (the model's train mode).

Under ``torchrun`` each process samples its own pairs (generators seeded by seed, epoch and
rank) and DDP averages the gradients, so every process holds the same weights; BatchNorm
buffers are taken from rank 0 (DDP's default) and synchronised once more at the end. Rank 0
alone writes checkpoints, logs and validates.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..model import ModelConfig, build_model, load_checkpoint, read_checkpoint_file, save_checkpoint
from ..tracking.normalize import PatchNormalizer
from .config import TrainConfig
from .curves import plot_history
from .losses import tracking_loss
from .sampling import FolderSource, PairSampler, SyntheticSource

# ----------------------------------------------------------------------------- setup
@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str) -> DistInfo:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1): NCCL on GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        # Long timeout: the other ranks wait at a barrier while rank 0 validates and saves.
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo",
                                timeout=datetime.timedelta(hours=2))
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, info: DistInfo) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        return torch.device("cuda", info.local_rank)
    return torch.device(name)


def build_sources(config: TrainConfig):
    from ..simulation.simulator import SimConfig
    sources, weights = [], []
    for src in config.data.sources:
        if src.kind == "synthetic":
            sources.append(SyntheticSource(SimConfig.from_dict(src.sim), src.seed_start, src.num_seeds, src.reuse,
                                           src.event_path, src.pool))
        else:
            sources.append(FolderSource(src.root, src.dataset, src.list_file))
        weights.append(src.weight)
    return sources, weights


def build_optimizer(model: nn.Module, lr: float, weight_decay: float, backbone_lr_multiplier: float):
    """AdamW with two groups: the head at ``lr``, ``backbone.*`` at ``lr * backbone_lr_multiplier``."""
    head = [p for n, p in model.named_parameters() if not n.startswith("backbone.") and p.requires_grad]
    backbone = [p for n, p in model.named_parameters() if n.startswith("backbone.") and p.requires_grad]
    groups = [{"params": head, "lr": lr, "name": "head"},
              {"params": backbone, "lr": lr * backbone_lr_multiplier, "name": "backbone"}]
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


#: Parameters kept in the state dict for checkpoint compatibility but never used by the forward.
UNUSED_PARAMETERS = ("backbone.cls_token",)


def freeze_unused(model: nn.Module) -> None:
    """Exclude :data:`UNUSED_PARAMETERS` from training (DDP requires every trained parameter to get a gradient)."""
    for name, param in model.named_parameters():
        if name in UNUSED_PARAMETERS:
            param.requires_grad_(False)


def init_score_prior(model: nn.Module, prior: float) -> None:
    """Start the score map at ``prior`` everywhere (last score bias = logit(prior)), for training from scratch.

    With the default zero bias every cell starts at 0.5, the focal loss's negative term dominates
    (~10 per sample on 8x8 maps), and AdamW needs thousands of steps just to lower the bias; the
    CenterNet/RetinaNet prior removes that phase. Weights loaded from a checkpoint are left alone.
    """
    if not 0.0 < prior < 1.0:
        raise ValueError(f"score prior must be in (0, 1), got {prior}")
    with torch.no_grad():
        model.box_head.conv5_ctr.bias.fill_(math.log(prior / (1.0 - prior)))


# ----------------------------------------------------------------------------- batches
class PairStream(torch.utils.data.IterableDataset):
    """Endless pairs for one process (and DataLoader worker), seeded by ``(seed, epoch, rank, worker)``."""

    def __init__(self, config: TrainConfig, model_config: ModelConfig, epoch: int, rank: int):
        self.config, self.model_config, self.epoch, self.rank = config, model_config, epoch, rank

    def __iter__(self):
        worker = torch.utils.data.get_worker_info()
        wid = 0 if worker is None else worker.id
        rng = np.random.default_rng([self.config.train.seed, self.epoch, self.rank, wid])
        sources, weights = build_sources(self.config)
        sampler = PairSampler(sources, weights, self.config.pair_settings(self.model_config.template_size,
                                                                          self.model_config.search_size))
        while True:
            yield sampler.sample(rng)


def collate_pairs(pairs) -> dict:
    """Pairs -> uint8 arrays (B, S, S, 3) / (B, T, T, 3) and float32 boxes (B, 4)."""
    return {name: np.stack([getattr(p, name) for p in pairs])
            for name in ("template_rgb", "template_event", "search_rgb", "search_event", "search_box")}


def to_inputs(batch: dict, normalize: PatchNormalizer) -> tuple[list[torch.Tensor], torch.Tensor]:
    inputs = [normalize(*batch[name]) for name in ("template_rgb", "template_event", "search_rgb", "search_event")]
    return inputs, torch.from_numpy(batch["search_box"]).to(normalize.device)


def train_step(model: nn.Module, optimizer, batch: dict, normalize: PatchNormalizer, config: TrainConfig) -> dict:
    """One optimisation step on ``batch``; returns the loss stats (floats) and the gradient norm."""
    inputs, gt = to_inputs(batch, normalize)
    outputs = model(*inputs)
    loss, stats = tracking_loss(outputs, gt, config.train.loss_weights)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    stats["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.grad_clip_norm))
    optimizer.step()
    return stats


# ----------------------------------------------------------------------------- checkpoints
def save_training_checkpoint(path: Path, model: nn.Module, optimizer, scheduler, epoch: int, config: TrainConfig,
                             history: list) -> Path:
    """Write a checkpoint in the model package's format (loadable by ``fetrack_ros.model.load_model``)
    whose ``extra`` holds what resuming needs; written atomically (temporary file, then rename)."""
    extra = {"epoch": epoch, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "train_config": config.to_dict(), "history": history}
    tmp = path.with_name(path.name + ".tmp")
    save_checkpoint(model, tmp, extra=extra)
    tmp.replace(path)
    return path


def read_training_state(path: Path, model: nn.Module) -> dict:
    """The ``extra`` of a training checkpoint after loading its weights into ``model``.

    Raises ``ValueError`` when the checkpoint was trained with another model config."""
    checkpoint = read_checkpoint_file(path)
    stored = checkpoint.config
    if stored is None or dataclasses.replace(stored, scan_backend=model.config.scan_backend) != model.config:
        raise ValueError(f"checkpoint {path} holds model config {stored and stored.to_dict()}, but this training "
                         f"config builds {model.config.to_dict()}; resume with the config it was trained with")
    model.load_state_dict(checkpoint.state_dict)
    extra = checkpoint.extra
    missing = [k for k in ("epoch", "optimizer", "scheduler") if k not in extra]
    if missing:
        raise ValueError(f"{path} is a model checkpoint without training state {missing}: it cannot be resumed "
                         f"(use it as model.init_checkpoint to fine-tune from it)")
    return extra


def latest_checkpoint(out_dir: Path) -> Path | None:
    found = sorted(out_dir.glob("checkpoint_ep*.pt"), key=lambda p: int(p.stem.split("ep")[-1]))
    return found[-1] if found else None


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


# ----------------------------------------------------------------------------- validation
def validation_sequences(config: TrainConfig) -> list:
    v = config.validation
    if v.folder:
        from ..data.datasets import open_dataset
        folder = dict(v.folder)
        limit = folder.pop("max_sequences", None)
        seqs = open_dataset(folder.pop("root"), folder.pop("dataset", "coesot"), **folder)
        return seqs[:limit] if limit else seqs
    from ..simulation.simulator import SimConfig, benchmark_sequences
    return benchmark_sequences(v.num_sequences, v.seed_start, SimConfig.from_dict(v.sim))


def validate(model: nn.Module, sequences: list, tracker_overrides: dict) -> dict:
    """Track every sequence with the real :class:`~fetrack_ros.tracking.Tracker` and score it
    with the reference metrics; returns success (``auc``), ``precision_20``, ``norm_precision_20``
    in percent, over all sequences and over the degraded-RGB ones (synthetic only)."""
    from ..evaluation.metrics import evaluate_sequence, summarize
    from ..evaluation.run import track_sequence
    from ..tracking import Tracker, TrackerParams
    was_training = model.training
    tracker = Tracker(model, TrackerParams().replace(**tracker_overrides))
    results, degraded = [], []
    try:
        for seq in sequences:
            run = track_sequence(tracker, seq)
            results.append(evaluate_sequence(run.boxes, seq.gt_xywh))
            degraded.append(bool(getattr(seq, "degraded", False)))
    finally:
        model.train(was_training)
    out = {}
    for label, chosen in (("all", results), ("degraded", [r for r, d in zip(results, degraded) if d])):
        if chosen:
            s = summarize(chosen)
            out.update({f"{label}_auc": s["auc"], f"{label}_precision_20": s["precision_20"],
                        f"{label}_norm_precision_20": s["norm_precision_20"]})
    return out


# ----------------------------------------------------------------------------- main loop
def _mean_across_ranks(stats: dict, info: DistInfo, device) -> dict:
    if not info.enabled:
        return stats
    keys = sorted(stats)
    t = torch.tensor([stats[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(keys, (t / info.world_size).tolist()))


def _sync_buffers(model: nn.Module, info: DistInfo) -> None:
    if info.enabled:
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def train(config: TrainConfig, resume: str | None = None, progress: bool = True, log=print) -> dict:
    """Run (or resume) training; returns ``{"epochs": ..., "history": [...], "checkpoint": path}``.

    ``resume``: a checkpoint path, ``"auto"`` (the newest one in the output folder, if any), or None.
    """
    tc = config.train
    info = init_distributed("cuda" if pick_device(tc.device, DistInfo()).type == "cuda" else "cpu")
    device = pick_device(tc.device, info)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    out_dir = Path(config.output.dir)
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tc.seed)   # identical initial weights in every process
    model = build_model(config.model.name, **config.model.overrides)
    if config.model.init_checkpoint:
        # Position embeddings are resampled when the crop sizes differ: fine-tuning at a new size.
        load_checkpoint(model, config.model.init_checkpoint, resize_positions=True,
                        layer_sources=config.model.init_layers, widen=config.model.init_widen)
    elif tc.score_prior is not None:
        init_score_prior(model, tc.score_prior)
    model.to(device).train()
    freeze_unused(model)
    optimizer = build_optimizer(model, tc.lr, tc.weight_decay, tc.backbone_lr_multiplier)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=tc.lr_drop_epoch, gamma=tc.lr_drop_gamma)
    start_epoch, history = 0, []
    if resume == "auto":
        resume = latest_checkpoint(out_dir)
    if resume:
        state = read_training_state(Path(resume), model)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        # the config's step schedule applies from here on, so a resumed run can be lengthened
        # (a learning rate already dropped stays dropped)
        scheduler.step_size, scheduler.gamma = tc.lr_drop_epoch, tc.lr_drop_gamma
        start_epoch, history = int(state["epoch"]), list(state.get("history", []))
        if info.is_main:
            log(f"resumed from {resume} after epoch {start_epoch}")
    net = model
    if info.enabled:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    normalize = PatchNormalizer(device)
    val_sequences = validation_sequences(config) if info.is_main and config.validation.every else []
    checkpoint = None
    for epoch in range(start_epoch, tc.epochs):
        torch.manual_seed(tc.seed * 100_003 + epoch * 101 + info.rank)   # Gumbel noise, per process
        loader = torch.utils.data.DataLoader(PairStream(config, model.config, epoch, info.rank),
                                             batch_size=tc.batch_size, collate_fn=collate_pairs,
                                             num_workers=config.data.num_workers)
        bar = _progress(tc.steps_per_epoch, f"epoch {epoch + 1}/{tc.epochs}", progress and info.is_main)
        sums: dict = {}
        started = time.perf_counter()
        for step, batch in zip(range(tc.steps_per_epoch), loader):
            stats = train_step(net, optimizer, batch, normalize, config)
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v
            if bar is not None:
                bar.set_postfix(loss=f"{stats['loss']:.3f}", iou=f"{stats['iou']:.3f}")
                bar.update(1)
        if bar is not None:
            bar.close()
        scheduler.step()
        record = {k: v / tc.steps_per_epoch for k, v in sums.items()}
        record = _mean_across_ranks(record, info, device)
        record.update(epoch=epoch + 1, seconds=time.perf_counter() - started,
                      lr=optimizer.param_groups[0]["lr"])
        last = epoch + 1 == tc.epochs
        _sync_buffers(model, info)
        if info.is_main:
            if config.validation.every and ((epoch + 1) % config.validation.every == 0 or last):
                record.update(validate(model, val_sequences, config.validation.tracker))
            history.append(_json_safe(record))
            with open(out_dir / "log.jsonl", "a") as fh:
                fh.write(json.dumps(history[-1]) + "\n")
            plot_history(history, out_dir / "training.png", title=out_dir.name)
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in history[-1].items()))
            if (epoch + 1) % config.output.checkpoint_every == 0 or last:
                checkpoint = save_training_checkpoint(out_dir / f"checkpoint_ep{epoch + 1:04d}.pt", model, optimizer,
                                             scheduler, epoch + 1, config, history)
        if info.enabled:
            dist.barrier()
    if config.output.rank_checkpoints:
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), out_dir / f"final_rank{info.rank}.pt")
    if info.enabled:
        dist.barrier()
        dist.destroy_process_group()
    return {"epochs": tc.epochs, "history": history, "checkpoint": checkpoint}


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, dynamic_ncols=True, leave=False)
