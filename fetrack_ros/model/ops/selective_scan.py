"""The Mamba selective scan, with mamba-ssm's ``selective_scan_fn`` conventions.

Shapes (``b`` batch, ``D`` channels, ``N`` state size, ``L`` length, ``G`` groups)::

    u, delta, z: (b, D, L)     A: (D, N)     D, delta_bias: (D,)
    B, C: (b, N, L) shared by all channels, or (b, G, N, L): channel c uses group c // (D // G)

Math (per channel c, state index n)::

    dt_t = softplus(delta_t + delta_bias)            (if delta_softplus; threshold 20)
    h_t  = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t    (h_{-1} = 0)
    y_t  = sum_n C_t * h_t + D * u_t;   out = y * silu(z)

Groups are how the FEMamba mixer runs its forward and backward directions (different weights,
including A) in ONE call: the two directions are stacked along the channel axis, and B/C carry one
group per direction. The scan itself runs in float32 (float64 if the inputs are float64) whatever
the input dtype, and the result is cast back to ``u.dtype``, like the CUDA kernel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .backend import cuda_kernels, resolve_backend

# Time steps per chunk of the torch backend: the chunk's decay/input tensors stay in cache.
TORCH_SCAN_CHUNK = 16


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   backend: str = "auto") -> torch.Tensor:
    """Selective scan with the chosen backend (``auto | cuda | torch | reference``); see module doc."""
    _check_shapes(u, delta, A, B, C)
    chosen = resolve_backend(backend, u.device)
    if chosen == "cuda":
        return cuda_kernels()[0](u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    impl = selective_scan_torch if chosen == "torch" else selective_scan_reference
    return impl(u, delta, A, B, C, D, z, delta_bias, delta_softplus)


def _check_shapes(u, delta, A, B, C) -> None:
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both be (batch, channels, length); got {tuple(u.shape)} "
                         f"and {tuple(delta.shape)}")
    batch, dim, length = u.shape
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"A must be (channels={dim}, state), got {tuple(A.shape)}")
    for name, m in (("B", B), ("C", C)):
        groups = m.shape[1] if m.dim() == 4 else 1
        if (m.dim() not in (3, 4) or m.shape[0] != batch or m.shape[-2] != A.shape[1]
                or m.shape[-1] != length or dim % groups):
            raise ValueError(f"{name} must be (batch={batch}, state={A.shape[1]}, length={length}) or "
                             f"(batch, groups dividing {dim}, state, length); got {tuple(m.shape)}")


def _compute_dtype(u: torch.Tensor) -> torch.dtype:
    return torch.float64 if u.dtype == torch.float64 else torch.float32


def _prepare(u, delta, A, D, z, delta_bias, delta_softplus):
    dtype = _compute_dtype(u)
    u, delta, A = u.to(dtype), delta.to(dtype), A.to(dtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    return u, delta, A


def _finish(y, u, D, z, out_dtype):
    if D is not None:
        y = y + u * D.to(y.dtype)[:, None]
    if z is not None:
        y = y * F.silu(z.to(y.dtype))
    return y.to(out_dtype)


def _per_channel(m: torch.Tensor, dim: int) -> torch.Tensor:
    """B or C as (batch, channels, state, length)."""
    if m.dim() == 3:
        return m.unsqueeze(1).expand(-1, dim, -1, -1)
    return m.repeat_interleave(dim // m.shape[1], dim=1)


def selective_scan_reference(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                             delta_softplus=False) -> torch.Tensor:
    """The recurrence exactly as written, one time step at a time: the oracle of the tests."""
    out_dtype = u.dtype
    u, delta, A = _prepare(u, delta, A, D, z, delta_bias, delta_softplus)
    batch, dim, length = u.shape
    B, C = _per_channel(B.to(u.dtype), dim), _per_channel(C.to(u.dtype), dim)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        dt = delta[:, :, t, None]
        h = torch.exp(dt * A) * h + dt * B[:, :, :, t] * u[:, :, t, None]
        ys.append((h * C[:, :, :, t]).sum(-1))
    return _finish(torch.stack(ys, dim=-1), u, D, z, out_dtype)


def selective_scan_torch(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                         chunk: int = TORCH_SCAN_CHUNK) -> torch.Tensor:
    """Fast pure-PyTorch scan (CPU and GPU), same math and conventions as the reference.

    Time-major layout so that each step is one fused ``addcmul`` over all batch rows, channels and
    states; decays and inputs are materialized one chunk of time steps at a time (cache-sized), and
    the readout ``C . h`` is one batched matmul per chunk. Without autograd the states are updated
    in place; with autograd a functional step keeps gradients exact.
    """
    out_dtype = u.dtype
    u, delta, A = _prepare(u, delta, A, D, z, delta_bias, delta_softplus)
    batch, dim, length = u.shape
    state = A.shape[1]
    B4 = B.unsqueeze(1) if B.dim() == 3 else B
    C4 = C.unsqueeze(1) if C.dim() == 3 else C
    groups = max(B4.shape[1], C4.shape[1])
    per_group = dim // groups
    if B4.shape[1] != groups:
        B4 = B4.expand(-1, groups, -1, -1)
    if C4.shape[1] != groups:
        C4 = C4.expand(-1, groups, -1, -1)
    shape = (length, batch, groups, per_group, 1)
    dt = delta.permute(2, 0, 1).reshape(shape)                     # (L, b, G, Dg, 1)
    dtu = (delta * u).permute(2, 0, 1).reshape(shape)               # (L, b, G, Dg, 1)
    Bt = B4.to(u.dtype).permute(3, 0, 1, 2).unsqueeze(3)           # (L, b, G, 1, N)
    Ct = C4.to(u.dtype).permute(3, 0, 1, 2).unsqueeze(4)           # (L, b, G, N, 1)
    A = A.reshape(groups, per_group, state)
    track_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (u, delta, A, B, C))
    h = None
    ys = []
    for start in range(0, length, chunk):
        stop = min(start + chunk, length)
        decay = torch.exp(dt[start:stop] * A)                        # (T, b, G, Dg, N)
        states = dtu[start:stop] * Bt[start:stop]                    # (T, b, G, Dg, N)
        if track_grad:
            steps = []
            for k in range(stop - start):
                h = states[k] if h is None else torch.addcmul(states[k], decay[k], h)
                steps.append(h)
            states = torch.stack(steps)
        else:
            if h is not None:
                states[0].addcmul_(decay[0], h)
            for k in range(1, stop - start):
                states[k].addcmul_(decay[k], states[k - 1])
            h = states[-1]
        ys.append(torch.matmul(states, Ct[start:stop]))              # (T, b, G, Dg, 1)
    y = torch.cat(ys).reshape(length, batch, dim).permute(1, 2, 0)
    return _finish(y, u, D, z, out_dtype)
