"""Reading and writing FEMamba weights (first version: plain state dicts and fixture-style dicts)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

STATE_DICT_ENTRIES = ("state_dict", "net", "model")


def extract_state_dict(obj) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
        for key in STATE_DICT_ENTRIES:
            if isinstance(obj.get(key), Mapping):
                return extract_state_dict(obj[key])
    raise ValueError("not a checkpoint: expected a state dict or a dict with one of "
                     f"{STATE_DICT_ENTRIES} holding one")


def load_checkpoint(model: nn.Module, path) -> nn.Module:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    model.load_state_dict(extract_state_dict(torch.load(path, map_location="cpu", weights_only=True)))
    return model
