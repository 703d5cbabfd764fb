"""Choosing a kernel backend, and importing the optional CUDA kernels lazily.

``mamba_ssm`` cannot even be imported without its compiled CUDA extension, so nothing here
imports it until a CUDA backend is actually requested (or ``"auto"`` sees a CUDA tensor).
"""
from __future__ import annotations

import functools
import importlib

import torch

BACKENDS = ("auto", "cuda", "torch", "reference")


@functools.lru_cache(maxsize=None)
def _import_cuda_kernels():
    """(selective_scan_fn, causal_conv1d_fn), or the ImportError that prevented it."""
    try:
        scan = importlib.import_module("mamba_ssm.ops.selective_scan_interface").selective_scan_fn
        conv = importlib.import_module("causal_conv1d").causal_conv1d_fn
    except Exception as exc:  # ImportError, or an OSError/RuntimeError from a broken extension
        return exc
    return scan, conv


def cuda_kernels_available() -> bool:
    """True when CUDA is usable and mamba-ssm + causal-conv1d import (this imports them)."""
    return torch.cuda.is_available() and not isinstance(_import_cuda_kernels(), Exception)


def cuda_kernels():
    """The CUDA kernels ``(selective_scan_fn, causal_conv1d_fn)``; raises a clear error if absent."""
    result = _import_cuda_kernels()
    if isinstance(result, Exception):
        raise RuntimeError("scan backend 'cuda' needs the mamba-ssm and causal-conv1d packages built "
                           f"with their CUDA extensions; importing them failed: {result!r}. "
                           "Use scan_backend='torch' (or 'auto') instead.") from result
    return result


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend (``cuda``, ``torch`` or ``reference``) for tensors on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f"scan backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "cuda" if device.type == "cuda" and cuda_kernels_available() else "torch"
    if backend == "cuda" and device.type != "cuda":
        raise ValueError(f"scan backend 'cuda' needs CUDA tensors, got tensors on {device}; "
                         "use 'torch' or 'auto'")
    return backend
