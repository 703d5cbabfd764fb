"""The training configuration: one YAML file, checked field by field.

Sections (every field optional; defaults are the reference recipe where it has one)::

    model:       {name: vim_t, overrides: {depth: 4, ...}, init_checkpoint: null, init_layers: null,
                  init_widen: false}
    data:        {sources: [...], pairs: {...PairSettings...}, num_workers: 0}
    train:       {seed, epochs, steps_per_epoch, batch_size, lr, backbone_lr_multiplier, weight_decay,
                  lr_drop_epoch, lr_drop_gamma, grad_clip_norm, loss_weights: {giou, l1, focal},
                  device, threads}
    output:      {dir, checkpoint_every, rank_checkpoints}
    validation:  {every, seed_start, num_sequences, sim: {...}, folder: {...}, tracker: {...}}

A source is ``{kind: synthetic, weight, seed_start, num_seeds, reuse, pool, event_path, sim: {...SimConfig...}}``
or ``{kind: folder, weight, root, dataset, list_file}``. Synthetic training seeds are drawn from
``[seed_start, seed_start + num_seeds)``; keep validation and benchmark seeds outside that range
(the defaults: training 0..999999, validation from 1000000).

A file may start from another one: ``base: other.yaml`` (a path relative to the file that names
it, or absolute) loads that file first and applies this file's keys on top of it, recursively:
mappings merge key by key, anything else (lists such as ``data.sources``, scalars, null)
replaces the base's value. Bases may have bases; a cycle is refused. ``base`` is read only by
:meth:`TrainConfig.load` and is not a field of the result. So a training stage is written as its
previous stage plus what it changes::

    base: default_model_stage2.yaml
    data: {pairs: {static_target_prob: 0.25}}
    train: {seed: 2, epochs: 20}
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..fields import reject_unknown_fields
from .losses import LossWeights
from .sampling import PairSettings
from ..simulation.simulator import HELD_OUT_SEED_START


class ConfigError(ValueError):
    """A training configuration field is missing, unknown or of the wrong kind."""


def _build(cls, data, where: str):
    """``cls(**data)`` with unknown keys reported by their path in the file."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}: {data!r}")
    reject_unknown_fields(cls, data, where, ConfigError)
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    data = {k: _coerce(v, types[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _coerce(value, annotation, where: str):
    """Numbers for ``int``/``float`` fields. YAML 1.1 reads ``4e-4`` (no dot) as a string: accept
    such strings when they are numbers; refuse booleans and anything else. ``bool`` fields take
    ``true``/``false`` only (a string such as ``"no"`` would otherwise count as true)."""
    if isinstance(annotation, str) and annotation.endswith(" | None"):
        if value is None:
            return None
        annotation = annotation[:-len(" | None")]
    if annotation in ("bool", bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {type(value).__name__} {value!r}")
        return value
    if annotation not in ("int", "float", int, float):
        return value
    kind = "int" if annotation in ("int", int) else "float"
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{where} must be a number ({kind}), got the string {value!r}") from None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ConfigError(f"{where} must be a number ({kind}), got {type(value).__name__} {value!r}")
    if kind == "int":
        if float(number) != int(number):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return int(number)
    return float(number)


@dataclass(frozen=True)
class ModelSection:
    """``init_layers``: grow a deeper backbone from ``init_checkpoint``, one entry per layer of the
    new model: the checkpoint layer it starts from, or null for a new layer that starts as the
    identity (see :func:`~fetrack_ros.model.growing.grow_layers`). ``init_widen``: grow a wider
    backbone (``overrides.embed_dim`` above the checkpoint's) whose new channels start at zero
    (:func:`~fetrack_ros.model.growing.widen_channels`)."""

    name: str = "vim_t"
    overrides: dict = field(default_factory=dict)
    init_checkpoint: str | None = None
    init_layers: list | None = None
    init_widen: bool = False

    def __post_init__(self) -> None:
        if self.init_widen and not self.init_checkpoint:
            raise ValueError("init_widen needs an init_checkpoint to widen")
        if self.init_layers is None:
            return
        if not self.init_checkpoint:
            raise ValueError("init_layers needs an init_checkpoint to take the layers from")
        if not isinstance(self.init_layers, (list, tuple)) or not all(
                entry is None or (isinstance(entry, int) and not isinstance(entry, bool) and entry >= 0)
                for entry in self.init_layers):
            raise ValueError(f"init_layers must be a list of checkpoint layer indices (>= 0) or null, "
                             f"got {self.init_layers!r}")


@dataclass(frozen=True)
class SourceSection:
    kind: str = "synthetic"
    weight: float = 1.0
    # synthetic
    seed_start: int = 0
    num_seeds: int = HELD_OUT_SEED_START
    reuse: int = 4
    pool: int = 1
    event_path: str = "direct"
    sim: dict = field(default_factory=dict)
    # folder
    root: str | None = None
    dataset: str = "coesot"
    list_file: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("synthetic", "folder"):
            raise ValueError(f"source kind must be 'synthetic' or 'folder', got {self.kind!r}")
        if self.kind == "folder" and not self.root:
            raise ValueError("a folder source needs 'root' (the dataset folder)")


@dataclass(frozen=True)
class DataSection:
    sources: tuple = (SourceSection(),)
    pairs: dict = field(default_factory=dict)   # PairSettings fields except the crop sizes
    num_workers: int = 0


@dataclass(frozen=True)
class TrainSection:
    seed: int = 0
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 16
    lr: float = 4e-4
    backbone_lr_multiplier: float = 0.1
    weight_decay: float = 1e-4
    lr_drop_epoch: int = 8
    lr_drop_gamma: float = 0.1
    grad_clip_norm: float = 0.1
    score_prior: float | None = 0.01   # from scratch only (no init_checkpoint): initial score-map value
    loss_weights: LossWeights = LossWeights()
    device: str = "auto"
    threads: int = 0            # torch intra-op threads per process (0: torch's default)

    def __post_init__(self) -> None:
        for name in ("epochs", "steps_per_epoch", "batch_size", "lr_drop_epoch"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class OutputSection:
    dir: str = "runs/train"
    checkpoint_every: int = 1
    rank_checkpoints: bool = False   # every process also writes its final weights (DDP agreement checks)


@dataclass(frozen=True)
class ValidationSection:
    every: int = 1                    # epochs; 0 disables validation
    seed_start: int = HELD_OUT_SEED_START
    num_sequences: int = 4            # half normal, half degraded (simulator.benchmark_sequences)
    sim: dict = field(default_factory=lambda: {"num_frames": 60})
    folder: dict | None = None        # {root, dataset, list_file, max_sequences}: validate on a dataset instead
    tracker: dict = field(default_factory=dict)   # TrackerParams overrides


@dataclass(frozen=True)
class TrainConfig:
    model: ModelSection = ModelSection()
    data: DataSection = DataSection()
    train: TrainSection = TrainSection()
    output: OutputSection = OutputSection()
    validation: ValidationSection = ValidationSection()

    @classmethod
    def from_dict(cls, data: dict | None) -> "TrainConfig":
        data = dict(data or {})
        reject_unknown_fields(cls, data, "the top level of the training config", ConfigError)
        data_sec = dict(data.get("data") or {})
        sources = data_sec.get("sources", [{}])
        if not isinstance(sources, (list, tuple)) or not sources:
            raise ConfigError("data.sources must be a non-empty list of sources")
        data_sec["sources"] = tuple(_build(SourceSection, s, f"data.sources[{i}]") for i, s in enumerate(sources))
        train_sec = dict(data.get("train") or {})
        if "loss_weights" in train_sec:
            train_sec["loss_weights"] = _build(LossWeights, train_sec["loss_weights"], "train.loss_weights")
        config = cls(model=_build(ModelSection, data.get("model"), "model"),
                     data=_build(DataSection, data_sec, "data"),
                     train=_build(TrainSection, train_sec, "train"),
                     output=_build(OutputSection, data.get("output"), "output"),
                     validation=_build(ValidationSection, data.get("validation"), "validation"))
        config.pair_settings(128, 256)  # check data.pairs now, not at the first batch
        return config

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        """Read a YAML file, merged onto its ``base`` chain (see the module docstring)."""
        chain: list[Path] = []
        data = _read_with_bases(Path(path), chain)
        if len(chain) == 1:
            return cls.from_dict(data)
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            files = " <- ".join(str(p) for p in chain)
            raise ConfigError(f"{exc} (in {chain[0]} merged onto its bases: {files})") from exc

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def pair_settings(self, template_size: int, search_size: int) -> PairSettings:
        """Pair sampling settings with the model's crop sizes."""
        pairs = dict(self.data.pairs)
        for name in ("template_size", "search_size"):
            if name in pairs:
                raise ConfigError(f"data.pairs.{name} comes from the model config; set model.overrides.{name}")
        return _build(PairSettings, {**pairs, "template_size": template_size, "search_size": search_size},
                      "data.pairs")


def merge(base: dict, override: dict) -> dict:
    """``override`` applied on ``base``: mappings merge key by key (recursively), anything else
    replaces. Neither argument is modified."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_with_bases(path: Path, chain: list[Path]) -> dict:
    """The mapping of ``path`` merged onto its ``base`` chain; ``chain`` collects the files read
    (the first is ``path``) and detects cycles."""
    if not path.is_file():
        named_by = f" (the base of {chain[-1]})" if chain else ""
        raise ConfigError(f"training config not found: {path}{named_by}")
    resolved = path.resolve()
    if resolved in (p.resolve() for p in chain):
        cycle = " -> ".join(str(p) for p in [*chain, path])
        raise ConfigError(f"training config bases form a cycle: {cycle}")
    chain.append(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {type(data).__name__}")
    if "base" not in data:
        return data
    data = dict(data)
    base = data.pop("base")
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base must be the path of another config file, got {base!r}")
    return merge(_read_with_bases(path.parent / base, chain), data)


def set_path(data: dict, dotted: str, value) -> None:
    """``set_path(d, "train.epochs", 3)``: set a nested key, creating sections (for ``--set``)."""
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {dotted}: {key} is not a section")
    node[keys[-1]] = value
