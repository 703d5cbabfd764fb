"""Reading and writing FEMamba weights.

Three kinds of files are read by :func:`read_checkpoint` / :func:`load_checkpoint` /
:func:`load_model`, all without running code stored in the file:

1. **This project's checkpoints** (written by :func:`save_checkpoint`)::

       {"format": "fetrack_ros/1",
        "config": {...ModelConfig fields except scan_backend...},
        "state_dict": {key: tensor},
        "extra": {...}}            # optional, caller's plain data (epoch, metrics, ...)

   saved with ``torch.save``; everything in it loads with ``torch.load(weights_only=True)``, and
   the config lets :func:`load_model` rebuild the right network.
2. **Plain state dicts** (``torch.save(model.state_dict())``), or dicts holding one under
   ``state_dict`` / ``net`` / ``model`` (e.g. the shared test fixtures); a ``module.`` prefix left
   by DataParallel is removed.
3. **Official Mamba-FETrack files** such as ``Mamba_FEtrack_ep0050.pth.tar``: the state dict is
   ``ckpt['net']``, and the other entries pickle objects of the reference code. When
   ``weights_only=True`` refuses them, the file is read with :mod:`.safe_pickle`, which turns those
   objects into inert placeholders and refuses any pickled function call.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import safe_pickle
from .configs import CONFIGS, ModelConfig
from .errors import CheckpointError, UnsafeCheckpointError
from .growing import grow_layers, widen_channels

FORMAT = "fetrack_ros/1"
STATE_DICT_ENTRIES = ("state_dict", "net", "model")


def save_checkpoint(model: nn.Module, path, extra: dict | None = None) -> Path:
    """Write ``model`` (a FEMamba with ``.config``) in this project's format; returns the path.

    ``extra`` must hold plain data (numbers, strings, lists, dicts, tensors) so that the file
    still loads with ``weights_only=True``.
    """
    config = getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError(f"save_checkpoint needs a model with a ModelConfig at .config, got {type(model).__name__}")
    stored = config.to_dict()
    del stored["scan_backend"]  # a runtime choice of the machine that loads it
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "config": stored, "state_dict": model.state_dict(), "extra": extra or {}}, path)
    return path


@dataclass(frozen=True)
class CheckpointFile:
    """What one read of a checkpoint gives: the state dict, the stored config (this project's
    files; else None) and ``extra`` (this project's files: training state, model card; else ``{}``)."""

    state_dict: dict[str, torch.Tensor]
    config: ModelConfig | None
    extra: dict


def read_checkpoint_file(path) -> CheckpointFile:
    """Read ``path`` once: weights (checked finite), stored config and ``extra``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint path is not a file: {path}")
    obj = _load_object(path)
    if isinstance(obj, Mapping) and "format" in obj:
        state_dict, config = _read_project_format(obj, path)
    else:
        state_dict, config = _find_state_dict(obj, path), None
    check_finite(state_dict, str(path))
    return CheckpointFile(state_dict, config, _extra_of(obj))


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], ModelConfig | None]:
    """The state dict in ``path`` and, for this project's files, the stored config (else None)."""
    checkpoint = read_checkpoint_file(path)
    return checkpoint.state_dict, checkpoint.config


def _extra_of(obj) -> dict:
    extra = obj.get("extra") if isinstance(obj, Mapping) and "format" in obj else None
    return dict(extra) if isinstance(extra, Mapping) else {}


def read_extra(path) -> dict:
    """Only the ``extra`` dict of this project's checkpoint files (``{}`` for other files), without
    checking the weights: metadata for a message, not for loading."""
    return _extra_of(_load_object(Path(path)))


#: The fields of a model card stored in a checkpoint (``extra["model_card"]``), all plain strings.
MODEL_CARD_FIELDS = ("name", "trained_on", "real_cameras", "card")


def model_card(extra: Mapping) -> dict:
    """What the weights are, from a checkpoint's ``extra`` (``extra["model_card"]``:
    :data:`MODEL_CARD_FIELDS`), or ``{}``. A card is plain text from a file that may not be ours:
    only known fields, as short one-line strings."""
    card = extra.get("model_card")
    if not isinstance(card, Mapping):
        return {}
    return {key: " ".join(str(card[key]).split())[:300] for key in MODEL_CARD_FIELDS if key in card}


def tracker_settings(extra: Mapping) -> dict:
    """The tracker settings a checkpoint recommends for its weights (``extra["tracker_params"]``:
    TrackerParams field names to numbers), or ``{}``. Plain data only, as in :func:`model_card`;
    the names and ranges are checked where the settings are used
    (:func:`fetrack_ros.tracking.params.with_recommended`).

    Raises ``ValueError`` when the entry is there but is not a mapping of names to numbers.
    """
    settings = extra.get("tracker_params")
    if settings is None:
        return {}
    if not isinstance(settings, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in settings.items()):
        raise ValueError(f"the checkpoint's recommended tracker settings (extra['tracker_params']) must map setting "
                         f"names to numbers, got {str(settings)[:200]}")
    return dict(settings)


def check_finite(state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Refuse weights holding NaN or infinity: every frame tracked with them would fail."""
    for key, tensor in state_dict.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(f"{source}: tensor {key} {tuple(tensor.shape)} holds {bad} NaN or infinite "
                                  f"value(s) of {tensor.numel()}; the weights are damaged")


#: Position embeddings of the token grids, by the config property giving each grid's side.
POSITION_EMBEDDINGS = {"backbone.pos_embed_z": "template_feat_size", "backbone.pos_embed_x": "feat_size"}


def load_checkpoint(model: nn.Module, path, strict: bool = True, resize_positions: bool = False,
                    layer_sources: Sequence[int | None] | None = None, widen: bool = False) -> nn.Module:
    """Load the weights in ``path`` into ``model`` (in place) and return it.

    Raises FileNotFoundError, :class:`CheckpointError` (not a checkpoint; wrong architecture, with
    the missing/unexpected keys, shape mismatches, and the config that would fit) or
    :class:`UnsafeCheckpointError`. With ``strict=False`` only shape mismatches are errors.
    ``resize_positions=True`` lets weights trained at other crop sizes in: their position
    embeddings are resampled to the model's token grids (:func:`resize_position_embeddings`),
    for fine-tuning at a new template/search size. ``widen=True`` loads it into a wider backbone
    (:func:`~.growing.widen_channels`), ``layer_sources`` into a deeper one (:func:`~.growing.grow_layers`).
    """
    state_dict, _ = read_checkpoint(path)
    if resize_positions:
        state_dict = resize_position_embeddings(state_dict, model.config)
    if widen:
        state_dict = widen_channels(state_dict, model.state_dict())
    if layer_sources is not None:
        state_dict = grow_layers(state_dict, layer_sources, model.state_dict())
    return fit_weights(model, state_dict, str(path), strict=strict)


def fit_weights(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint",
                strict: bool = True) -> nn.Module:
    """Load ``state_dict`` (read from ``source``) into ``model`` after :func:`check_compatible`; returns it."""
    check_compatible(model, state_dict, strict=strict, source=source)
    model.load_state_dict(state_dict, strict=strict)
    return model


def load_model(path, **overrides) -> nn.Module:
    """A FEMamba built for the checkpoint in ``path`` (stored or inferred config), in eval mode.

    ``overrides`` replace config fields, typically ``scan_backend=``.
    """
    state_dict, config = read_checkpoint(path)
    return model_for_weights(state_dict, config, str(path), **overrides)


def model_for_weights(state_dict: Mapping[str, torch.Tensor], config: ModelConfig | None,
                      source: str = "checkpoint", **overrides) -> nn.Module:
    """A FEMamba built for ``state_dict`` (``config``, else one inferred from the weights, with
    ``overrides``) holding those weights, in eval mode."""
    from .femamba import FEMamba

    config = config or infer_config(state_dict)
    if overrides:
        config = ModelConfig.from_dict({**config.to_dict(), **overrides})
    return fit_weights(FEMamba(config), state_dict, source).eval()


def resize_position_embeddings(state_dict: Mapping[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """``state_dict`` with its template/search position embeddings resampled to ``config``'s grids.

    An embedding ``(1, g*g, D)`` is read as a ``g x g`` grid of D-vectors and resized bicubically
    (corners aligned, so a grid's border tokens keep their values) to ``(1, G*G, D)`` with
    ``G`` the config's grid side (crop size / patch size); one that already fits is kept. A 128 px
    template at patch 16 is an 8 x 8 grid; the same weights fine-tuned at 192 px need 12 x 12.
    Other tensors are untouched.
    """
    resized = dict(state_dict)
    for key, side_property in POSITION_EMBEDDINGS.items():
        if key not in resized:
            continue
        embedding = resized[key]
        side = getattr(config, side_property)
        if embedding.ndim != 3 or embedding.shape[0] != 1:
            raise CheckpointError(f"{key} has shape {tuple(embedding.shape)}, expected (1, tokens, dim)")
        old_side = round(embedding.shape[1] ** 0.5)
        if old_side * old_side != embedding.shape[1]:
            raise CheckpointError(f"{key} holds {embedding.shape[1]} tokens, not a square grid")
        if old_side == side:
            continue
        grid = embedding.reshape(1, old_side, old_side, -1).permute(0, 3, 1, 2).float()
        grid = torch.nn.functional.interpolate(grid, size=(side, side), mode="bicubic", align_corners=True)
        resized[key] = grid.permute(0, 2, 3, 1).reshape(1, side * side, -1).to(embedding.dtype)
    return resized


def check_compatible(model: nn.Module, state_dict: Mapping[str, torch.Tensor], strict: bool = True,
                     source: str = "checkpoint") -> None:
    """Raise :class:`CheckpointError` describing every difference between the two key/shape sets."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
                  for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    if not mismatched and (not strict or not (missing or unexpected)):
        return
    config = getattr(model, "config", None)
    network = describe_config(config) if isinstance(config, ModelConfig) else type(model).__name__
    lines = [f"{source} does not fit this network, {network}:"]
    for title, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", mismatched)):
        if items and (strict or title == "shape mismatches"):
            shown = ", ".join(items[:6]) + (f", ... ({len(items) - 6} more)" if len(items) > 6 else "")
            lines.append(f"  {len(items)} {title}: {shown}")
    try:
        lines.append(f"  the checkpoint fits {describe_config(infer_config(state_dict))}")
    except CheckpointError as exc:
        lines.append(f"  no FEMamba config fits it: {exc}")
    raise CheckpointError("\n".join(lines))


#: The tensors whose shapes define the architecture (see infer_config).
SHAPE_KEYS = ("backbone.patch_embed.proj.weight", "backbone.layers.0.mixer.A_log",
              "backbone.layers.0.mixer.conv1d.weight", "backbone.layers.0.mixer.dt_proj.weight",
              "backbone.pos_embed_z", "backbone.pos_embed_x", "backbone.rgb_specific_prompt.weight",
              "box_head.conv1_ctr.0.weight")


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> ModelConfig:
    """The :class:`ModelConfig` whose network has these keys and shapes (inferred from shapes).

    Raises :class:`CheckpointError` naming the architecture tensors and their shapes when they
    are missing or form no valid network."""
    try:
        return _infer_config(state_dict)
    except (TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        shapes = ", ".join(f"{k} {tuple(state_dict[k].shape)}" for k in SHAPE_KEYS if k in state_dict)
        raise CheckpointError(f"the architecture tensors' shapes form no valid FEMamba ({exc}); "
                              f"shapes read: {shapes}") from None


def _infer_config(state_dict: Mapping[str, torch.Tensor]) -> ModelConfig:
    def shape(key):
        if key not in state_dict:
            raise CheckpointError(f"not a FEMamba state dict: key {key!r} is missing")
        return tuple(state_dict[key].shape)

    embed_dim, _, patch, _ = shape("backbone.patch_embed.proj.weight")
    layers = {int(m.group(1)) for k in state_dict if (m := re.match(r"backbone\.layers\.(\d+)\.", k))}
    if not layers:
        raise CheckpointError("not a FEMamba state dict: no backbone.layers.* keys")
    d_inner, d_state = shape("backbone.layers.0.mixer.A_log")
    if d_inner < embed_dim or d_inner % embed_dim:
        raise CheckpointError(f"backbone.layers.0.mixer.A_log has shape {(d_inner, d_state)}, expected "
                              f"(expand x {embed_dim}, d_state) with a whole expand >= 1 (embed_dim {embed_dim} "
                              f"from backbone.patch_embed.proj.weight)")
    d_conv = shape("backbone.layers.0.mixer.conv1d.weight")[-1]
    dt_rank = shape("backbone.layers.0.mixer.dt_proj.weight")[1]
    template_tokens, search_tokens = shape("backbone.pos_embed_z")[1], shape("backbone.pos_embed_x")[1]
    name = next((n for n, c in CONFIGS.items() if c.embed_dim == embed_dim), "custom")
    return ModelConfig(name=name, embed_dim=embed_dim, depth=max(layers) + 1, d_state=d_state, d_conv=d_conv,
                       expand=d_inner // embed_dim, dt_rank=dt_rank, patch_size=patch,
                       template_size=round(template_tokens ** 0.5) * patch,
                       search_size=round(search_tokens ** 0.5) * patch,
                       prompt_pool_size=shape("backbone.rgb_specific_prompt.weight")[0],
                       head_channels=shape("box_head.conv1_ctr.0.weight")[0])


def describe_config(config: ModelConfig) -> str:
    """``build_model("vim_s", depth=2)``-style text for a config (fields differing from the named one)."""
    base = CONFIGS.get(config.name)
    if base is None:
        base, name = CONFIGS["vim_s"], "vim_s"
    else:
        name = config.name
    diff = {k: v for k, v in config.to_dict().items()
            if k not in ("name", "scan_backend") and v != getattr(base, k)}
    args = "".join(f", {k}={v!r}" for k, v in diff.items())
    return f'build_model("{name}"{args})'


#: A checkpoint record may inflate to at most this many times its stored size. torch.save stores
#: records uncompressed; a heavily deflated record is a decompression bomb (2 GiB from 2 MB).
MAX_INFLATION = 20
#: Small records (the pickle, version strings) may compress well: the ratio only applies above this.
INFLATION_SLACK_BYTES = 1 << 20


def check_archive(path: Path) -> None:
    """Refuse a zip checkpoint whose records declare far more data than the file holds.

    Runs before any record is read, on the sizes the zip directory declares, so a crafted file
    costs nothing to reject. Not a zip (legacy torch files): nothing to check here.
    """
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"not a checkpoint: {path} is a damaged zip archive ({exc})") from None
    for info in infos:
        if info.file_size > MAX_INFLATION * info.compress_size + INFLATION_SLACK_BYTES:
            raise CheckpointError(
                f"refusing {path}: record {info.filename!r} declares {info.file_size} bytes stored in "
                f"{info.compress_size} (more than {MAX_INFLATION}x); torch.save does not compress, so this "
                f"is a damaged or crafted file")


def _load_object(path: Path):
    check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # refused globals (official files), or not a PyTorch file at all
        weights_only_error = exc
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=safe_pickle)
    except safe_pickle.UnsafePickleError as exc:
        raise UnsafeCheckpointError(f"refusing to load {path}: {exc}") from exc
    except Exception as exc:
        first_line = (str(weights_only_error).strip().splitlines() or [""])[0]
        raise CheckpointError(f"not a checkpoint: {path} cannot be read as a PyTorch file (weights-only "
                              f"reader: {type(weights_only_error).__name__}: {first_line}; restricted "
                              f"reader: {type(exc).__name__}: {exc})") from exc


def _read_project_format(obj: Mapping, path: Path):
    if obj.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unsupported checkpoint format {obj.get('format')!r}, expected {FORMAT!r}")
    for field in ("config", "state_dict"):
        if not isinstance(obj.get(field), Mapping):
            raise CheckpointError(f"{path}: {FORMAT} checkpoint has no {field!r} dict")
    try:
        config = ModelConfig.from_dict(dict(obj["config"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid stored config: {exc}") from exc
    return _find_state_dict(obj["state_dict"], path), config


def _find_state_dict(obj, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        state = {str(k): v for k, v in obj.items()}
        if all(k.startswith("module.") for k in state):
            state = {k[len("module."):]: v for k, v in state.items()}
        return state
    if isinstance(obj, Mapping):
        for key in STATE_DICT_ENTRIES:
            if key in obj and isinstance(obj[key], Mapping):
                return _find_state_dict(obj[key], path)
        keys = ", ".join(map(repr, list(obj)[:10]))
        raise CheckpointError(f"not a checkpoint: {path} holds a dict without a state dict "
                              f"(keys {keys}; looked for a dict of tensors or one of {STATE_DICT_ENTRIES})")
    raise CheckpointError(f"not a checkpoint: {path} holds a {type(obj).__name__}, not a state dict")


def default_checkpoint() -> Path | None:
    """The packaged default model (``resource/default_model.pt``, trained by ``fetrack train``
    on synthetic sequences; see the README), or None when this install has none."""
    from ..resources import DEFAULT_MODEL, find_shared

    try:
        return find_shared(DEFAULT_MODEL)
    except FileNotFoundError:
        return None
