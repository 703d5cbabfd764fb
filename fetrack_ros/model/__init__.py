"""FEMamba, the network of Mamba-FETrack V2 (torch only).

- :func:`build_model` ("vim_s", "vim_t"; overrides such as ``depth=``, ``scan_backend=``);
- :func:`load_checkpoint` / :func:`load_model` / :func:`save_checkpoint` (official ``.pth.tar``
  files, plain state dicts, this project's checkpoints);
- :class:`ModelConfig` / :data:`CONFIGS`: architecture and crop geometry (``model.config``).
"""
from .configs import CONFIGS, ModelConfig, get_config
from .femamba import FEMamba, build_model

__all__ = ["CONFIGS", "FEMamba", "ModelConfig", "build_model", "get_config"]
from .checkpoint import load_checkpoint  # noqa: E402

__all__ += ["load_checkpoint"]
