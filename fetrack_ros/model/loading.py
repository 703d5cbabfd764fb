"""Building the node's network from its parameters (no ROS): model, weights, device, precision.

Every failure is a :class:`StartupError` whose message is one line saying what to change.
"""
from __future__ import annotations

from dataclasses import dataclass


class StartupError(RuntimeError):
    """The node cannot start with this configuration; ``str()`` is a one-line reason."""


@dataclass(frozen=True)
class LoadedModel:
    model: object
    device: str
    backend: str       # the selective-scan implementation that will run (cuda, torch, reference)
    description: str


_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; a cuda device that is absent is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise StartupError(f"device '{device}' requested but torch sees no CUDA device; use device 'cpu' or 'auto'")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise StartupError(f"device '{device}' requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


def default_checkpoint() -> str | None:
    """The packaged default weights, when a packaged model is installed (else None)."""
    from fetrack_ros.model import default_checkpoint as packaged

    path = packaged()
    return str(path) if path else None


def load_model(model: str, checkpoint: str, depth: int = 0, device: str = "auto", precision: str = "fp32",
               scan_backend: str = "auto", cpu_threads: int = 0) -> LoadedModel:
    """``checkpoint``'s network with its weights, in eval mode.

    ``model`` ``"auto"`` builds the network the checkpoint describes (its stored config, or one
    inferred from its weights); a name (``vim_s``, ``vim_t``) with ``depth`` (0 = the config's own)
    builds that network and requires the checkpoint to fit it. ``cpu_threads`` > 0 sets torch's
    (process-wide) CPU thread count.
    """
    import torch

    if cpu_threads > 0:
        torch.set_num_threads(int(cpu_threads))

    from fetrack_ros.model import build_model, load_checkpoint
    from fetrack_ros.model import load_model as load_described_model

    path = checkpoint or default_checkpoint()
    if not path:
        raise StartupError("no checkpoint configured and no packaged default model is installed: set the "
                           "'checkpoint' parameter to a weights file")
    device = resolve_device(device)
    if precision != "fp32" and not device.startswith("cuda"):
        raise StartupError(f"precision '{precision}' needs a cuda device (device resolved to '{device}'); use fp32")
    overrides = {"scan_backend": scan_backend}
    if depth:
        overrides["depth"] = int(depth)
    try:
        if model == "auto":
            net = load_described_model(path, **overrides)
        else:
            net = load_checkpoint(build_model(model, **overrides), path)
    except FileNotFoundError:
        raise StartupError(f"checkpoint '{path}' does not exist") from None
    except Exception as exc:  # unpickling, zip, shape and key errors: all mean "wrong file"
        hint = (" (do 'model' and 'model_depth' match the checkpoint?)"
                if any(s in str(exc) for s in ("does not fit", "Missing key", "size mismatch")) else "")
        raise StartupError(f"checkpoint '{path}' cannot be loaded into model '{model}'"
                           f"{f' depth {depth}' if depth else ''}{hint}: {_one_line(exc)}") from None
    from fetrack_ros.model.ops import resolve_backend

    try:
        backend = resolve_backend(scan_backend, torch.device(device))
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    net = net.to(device=device, dtype=getattr(torch, _DTYPES[precision])).eval()
    config = getattr(net, "config", None)
    name = f"{config.name} depth {config.depth}" if config is not None else model
    count = torch.get_num_threads()
    threads = f", {count} CPU thread{'s' if count != 1 else ''}" if device == "cpu" else ""
    description = f"{name} from {path} on {device} ({precision}, {backend} scan{threads})"
    return LoadedModel(net, device, backend, description)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
