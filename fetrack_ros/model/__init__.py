"""FEMamba, the network of Mamba-FETrack V2 (torch only).

- :func:`build_model` ("vim_s", "vim_t"; overrides such as ``depth=``, ``scan_backend=``);
- :func:`load_checkpoint` / :func:`load_model` / :func:`save_checkpoint` (official ``.pth.tar``
  files, plain state dicts, this project's checkpoints); :func:`default_checkpoint` (the
  packaged model);
- :class:`ModelConfig` / :data:`CONFIGS`: architecture and crop geometry (``model.config``);
- :mod:`.loading`: the network for inference as the node and ``fetrack eval`` build it (device,
  precision, scan backend, the packaged model, the weights' model card).
"""
from .checkpoint import (CheckpointError, UnsafeCheckpointError, default_checkpoint, infer_config, load_checkpoint,
                         load_model, read_checkpoint, read_checkpoint_file, save_checkpoint)
from .configs import CONFIGS, ModelConfig, get_config
from .femamba import FEMamba, build_model

__all__ = ["CONFIGS", "CheckpointError", "FEMamba", "ModelConfig", "UnsafeCheckpointError", "build_model",
           "default_checkpoint", "get_config", "infer_config", "load_checkpoint", "load_model", "read_checkpoint",
           "read_checkpoint_file", "save_checkpoint"]
