"""RMSNorm and the fused "add residual, then RMSNorm" step of the Mamba blocks."""
from __future__ import annotations

import torch
from torch import nn


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last axis, computed in float32 (or float64)."""
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    xf = x.to(dtype)
    return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.to(dtype)


class RMSNorm(nn.Module):
    """RMSNorm with a weight and no bias (key ``weight``, like mamba-ssm's)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps).to(x.dtype)

    def add_norm(self, x: torch.Tensor, residual: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``residual = x (+ residual)`` kept in float32, and ``RMSNorm(residual)`` in x's dtype.

        This is mamba-ssm's fused add + norm with ``prenorm=True, residual_in_fp32=True``.
        """
        wide = torch.float64 if x.dtype == torch.float64 else torch.float32
        residual = x.to(wide) if residual is None else residual + x.to(wide)
        return rms_norm(residual, self.weight, self.eps).to(x.dtype), residual
