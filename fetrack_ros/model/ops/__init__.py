"""Numerical kernels of the FEMamba network (no nn.Module state): selective scan, causal conv1d.

Each op has interchangeable backends chosen by :func:`resolve_backend`:
``"reference"`` (plain sequential math, the test oracle), ``"torch"`` (fast pure PyTorch, CPU and
GPU), ``"cuda"`` (mamba-ssm / causal-conv1d kernels, imported lazily) and ``"auto"``.
"""
from .backend import cuda_kernels_available, resolve_backend
from .causal_conv import causal_conv1d
from .scan import selective_scan, selective_scan_reference, selective_scan_torch

__all__ = ["causal_conv1d", "cuda_kernels_available", "resolve_backend", "selective_scan",
           "selective_scan_reference", "selective_scan_torch"]
