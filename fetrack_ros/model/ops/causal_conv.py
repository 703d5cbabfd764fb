"""Depthwise causal 1-D convolution with optional SiLU (the Mamba short convolution)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .backend import cuda_kernels, resolve_backend


def causal_conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  activation: str | None = "silu", backend: str = "auto") -> torch.Tensor:
    """``y[:, c, t] = act(bias[c] + sum_k weight[c, k] * x[:, c, t - (W-1) + k])`` (zero left padding).

    x: (batch, channels, length), any memory layout; weight: (channels, W) or (channels, 1, W);
    bias: (channels,). Returns (batch, channels, length) in x's dtype and, on the torch path, in
    x's memory layout (so a time-major input stays time-major).
    """
    if activation not in (None, "silu"):
        raise ValueError(f"activation must be None or 'silu', got {activation!r}")
    weight = weight.reshape(weight.shape[0], weight.shape[-1])
    if resolve_backend(backend, x.device) == "cuda":
        return cuda_kernels()[1](x.contiguous(), weight, bias, activation=activation)
    width, length = weight.shape[1], x.shape[-1]
    # One multiply-add per tap over shifted views: layout-preserving, no padding copy.
    y = x * weight[:, -1:] if bias is None else torch.addcmul(bias[:, None], x, weight[:, -1:])
    for shift in range(1, min(width, length + 1)):
        y[..., shift:].addcmul_(x[..., :-shift], weight[:, width - 1 - shift, None])
    return F.silu(y) if activation == "silu" else y
