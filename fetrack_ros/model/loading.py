"""The network for inference, as the node and ``fetrack eval`` build it: model, weights, device,
precision, and what the weights are (their model card).

Every failure is a :class:`ModelLoadError` whose message is one line saying what to change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class ModelLoadError(RuntimeError):
    """The network cannot be built with this configuration; ``str()`` is a one-line reason."""


@dataclass(frozen=True)
class LoadedModel:
    """``description``: architecture, file, device, precision, scan backend and threads;
    ``provenance``: what the weights were trained on and what to expect of them (one line);
    ``tracker_settings``: the tracker settings the checkpoint recommends for these weights
    (TrackerParams field names to numbers, ``{}`` for none; see :func:`read_weights_info`)."""

    model: object
    device: str
    backend: str       # the selective-scan implementation that will run (cuda, torch, reference)
    description: str
    provenance: str
    tracker_settings: dict = field(default_factory=dict)


_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; a cuda device that is absent is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelLoadError(f"device '{device}' requested but torch sees no CUDA device; use device 'cpu' or 'auto'")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ModelLoadError(f"device '{device}' requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


def load_inference_model(model: str, checkpoint: str | None, depth: int = 0, device: str = "auto",
                         precision: str = "fp32", scan_backend: str = "auto", cpu_threads: int = 0) -> LoadedModel:
    """``checkpoint``'s network with its weights, in eval mode (no checkpoint: the packaged model).

    ``model`` ``"auto"`` builds the network the checkpoint describes (its stored config, or one
    inferred from its weights); a name (``vim_s``, ``vim_t``) with ``depth`` (0 = the config's own)
    builds that network and requires the checkpoint to fit it. ``cpu_threads`` > 0 sets torch's
    (process-wide) CPU thread count.
    """
    import torch

    if cpu_threads > 0:
        torch.set_num_threads(int(cpu_threads))

    from .checkpoint import fit_weights, model_card, model_for_weights, read_checkpoint_file, tracker_settings
    from .femamba import build_model

    path, is_packaged = _weights_file(checkpoint)
    if not path:
        raise ModelLoadError("no checkpoint configured and no packaged default model is installed: set the "
                             "'checkpoint' parameter to a weights file")
    device = resolve_device(device)
    if precision != "fp32" and not device.startswith("cuda"):
        raise ModelLoadError(f"precision '{precision}' needs a cuda device (device resolved to '{device}'); use fp32")
    overrides = {"scan_backend": scan_backend}
    if depth:
        overrides["depth"] = int(depth)
    try:
        checkpoint = read_checkpoint_file(path)   # once: weights, stored config and model card
        if model == "auto":
            net = model_for_weights(checkpoint.state_dict, checkpoint.config, path, **overrides)
        else:
            net = fit_weights(build_model(model, **overrides), checkpoint.state_dict, path)
        settings = tracker_settings(checkpoint.extra)
    except FileNotFoundError:
        raise ModelLoadError(f"checkpoint '{path}' does not exist") from None
    except Exception as exc:  # unpickling, zip, shape and key errors: all mean "wrong file"
        hint = (" (do 'model' and 'model_depth' match the checkpoint? model 'auto' builds the network it stores)"
                if any(s in str(exc) for s in ("does not fit", "Missing key", "size mismatch")) else "")
        raise ModelLoadError(f"checkpoint '{path}' cannot be loaded into model '{model}'"
                             f"{f' depth {depth}' if depth else ''}{hint}: {_one_line(exc)}") from None
    from .ops import resolve_backend

    try:
        backend = resolve_backend(scan_backend, torch.device(device))
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None
    net = net.to(device=device, dtype=getattr(torch, _DTYPES[precision])).eval()
    config = getattr(net, "config", None)
    name = f"{config.name} depth {config.depth}" if config is not None else model
    count = torch.get_num_threads()
    threads = f", {count} CPU thread{'s' if count != 1 else ''}" if device == "cpu" else ""
    description = f"{name} from {path} on {device} ({precision}, {backend} scan{threads})"
    return LoadedModel(net, device, backend, description, provenance(model_card(checkpoint.extra), is_packaged),
                       settings)


@dataclass(frozen=True)
class WeightsInfo:
    """What a checkpoint says about its weights, read without building the network:
    ``provenance`` (one line, as :class:`LoadedModel`'s) and ``tracker_settings`` (the settings it
    recommends, ``{}`` for none)."""

    provenance: str
    tracker_settings: dict


def read_weights_info(checkpoint: str | None) -> WeightsInfo:
    """:class:`WeightsInfo` of ``checkpoint`` (None: the packaged model) from one read of its
    ``extra``: this project's checkpoints carry a model card and may recommend tracker settings
    (the packaged model: ``size_update_rate`` 0.3, ``still_event_density`` 0.02); other files
    carry neither. A user's own settings win over the recommendation.

    Raises :class:`ModelLoadError` when there is no file, it cannot be read, or its recommendation
    is malformed.
    """
    from .checkpoint import model_card, read_extra, tracker_settings

    path, is_packaged = _weights_file(checkpoint)
    if path is None:
        raise ModelLoadError("no checkpoint given and no packaged default model is installed")
    if not Path(path).is_file():
        raise ModelLoadError(f"checkpoint '{path}' does not exist")
    try:
        extra = read_extra(path)
        return WeightsInfo(provenance(model_card(extra), is_packaged), tracker_settings(extra))
    except Exception as exc:  # unpickling, zip and format errors: all mean "wrong file"
        raise ModelLoadError(f"checkpoint '{path}': {_one_line(exc)}") from None


def _weights_file(checkpoint: str | None) -> tuple[str | None, bool]:
    """The weights file to use (``checkpoint``, else the packaged model, else None) and whether it
    is the packaged model."""
    from .checkpoint import default_checkpoint

    packaged = default_checkpoint()
    path = checkpoint or (str(packaged) if packaged else None)
    return path, packaged is not None and path is not None and Path(path).resolve() == packaged.resolve()


def provenance(card: dict, packaged: bool) -> str:
    """One line on what a checkpoint's weights are, from its model card (:func:`~.checkpoint.model_card`)."""
    if not card:
        return ("weights without a model card: what they were trained on is unknown"
                + (" (the packaged model file was replaced?)" if packaged else ""))
    line = f"{card.get('name', 'unnamed model')}, trained on {card.get('trained_on', 'unknown data')}"
    if packaged and card.get("real_cameras"):
        line += f"; on real cameras: {card['real_cameras']}"
    if card.get("card"):
        line += f" (model card: {card['card']})"
    return line


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
