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

import math

import torch
import torch.nn.functional as F

from .backend import cuda_kernels, resolve_backend

# Bytes of one chunk's decays (the states take as much): chunks of time steps of this size stay in
# cache, and larger chunks mean fewer ops. ~3 MB measured best for vim_s and vim_t on a 2-core CPU.
TORCH_SCAN_CHUNK_BYTES = 3 << 20
# Training saves one state per chunk, (length / chunk) x (batch, channels, state): with 8 steps per
# chunk and 16 states that is twice one input tensor (batch, channels, length). Longer chunks
# save memory but leave the cache: 32 steps made the default model's B16 scan ~1.5x slower.
MIN_TRAINING_CHUNK = 8


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


def _prepare(u, delta, A, delta_bias, delta_softplus):
    dtype = _compute_dtype(u)
    u, delta, A = u.to(dtype), delta.to(dtype), A.to(dtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    return u, delta, A


def _finish(y, u, D, z, out_dtype):
    if D is not None:
        y = torch.addcmul(y, u, D.to(y.dtype)[:, None])
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
    u, delta, A = _prepare(u, delta, A, delta_bias, delta_softplus)
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
                         chunk: int | None = None) -> torch.Tensor:
    """Fast pure-PyTorch scan (CPU and GPU), same math and conventions as the reference.

    Layout (time, batch, group, state, channel): each step is one fused ``addcmul`` over all
    batch rows, states and channels with the channel axis innermost, so the decay, the input
    ``dt*B*u`` and the readout ``C . h`` (a batched (1,N)x(N,channels) matmul) all vectorize
    along channels. Decays and inputs are materialized one chunk of time steps at a time
    (cache-sized), and buffers are allocated once and updated in place. For training, a custom
    autograd function keeps only the inputs and one state per chunk, and recomputes each chunk's
    states in the backward pass (the states of all steps would take L x the state memory).
    """
    out_dtype = u.dtype
    u, delta, A = _prepare(u, delta, A, delta_bias, delta_softplus)
    batch, dim, length = u.shape
    state = A.shape[1]
    B4 = B.unsqueeze(1) if B.dim() == 3 else B
    C4 = C.unsqueeze(1) if C.dim() == 3 else C
    groups = max(B4.shape[1], C4.shape[1])
    per_group = dim // groups
    shape = (length, batch, groups, 1, per_group)
    # Contiguous time-major copies (small next to the states): strided operands slow every op.
    dt = delta.permute(2, 0, 1).contiguous().view(shape)                                # (L, b, G, 1, Dg)
    dtu = (delta * u).permute(2, 0, 1).contiguous().view(shape)                         # (L, b, G, 1, Dg)
    Bt = B4.to(u.dtype).expand(-1, groups, -1, -1).permute(3, 0, 1, 2).unsqueeze(4).contiguous()
    Ct = C4.to(u.dtype).expand(-1, groups, -1, -1).permute(3, 0, 1, 2).unsqueeze(3).contiguous()
    # exp(dt*A) = exp2(dt*A*log2(e)): exp2 is several times cheaper than exp on CPU, same accuracy.
    At = (A * _LOG2_E).reshape(groups, per_group, state).transpose(1, 2).contiguous()  # (G, N, Dg)
    training = torch.is_grad_enabled() and any(t.requires_grad for t in (dt, dtu, At, Bt, Ct))
    if chunk is None:
        step_bytes = batch * dim * state * dt.element_size()
        chunk = max(MIN_TRAINING_CHUNK if training else 4, min(64, TORCH_SCAN_CHUNK_BYTES // step_bytes))
    if training:
        y = _ChunkedScan.apply(dt, dtu, At, Bt, Ct, chunk)
    else:
        y = _scan_chunks_inplace(dt, dtu, At, Bt, Ct, chunk, _may_underflow(dt, At))[0]  # (L, b, G, 1, Dg)
    y = y.reshape(length, batch, dim).permute(1, 2, 0)
    return _finish(y, u, D, z, out_dtype)


_LOG2_E = 1.4426950408889634
_LN_2 = math.log(2.0)
# exp2() of very negative numbers takes a slow path (underflow); below this the decay, 2^-115 =
# 2.4e-35, is zero for all purposes, so clamping changes nothing measurable and keeps exp2 fast.
_MIN_LOG2_DECAY = -115.0

# Element-wise ops below this size run on one thread in PyTorch; above it they fork threads, which
# costs more than the work of one scan step, and far more on a loaded machine.
_SERIAL_NUMEL = 32767


def _scan_chunks_inplace(dt, dtu, At, Bt, Ct, chunk, clamp: bool):
    """Outputs (L, b, G, 1, Dg) and the state before each chunk (chunks, b, G, N, Dg).

    ``clamp``: whether decays must be clamped (:func:`_may_underflow`)."""
    length, batch, groups, _, per_group = dt.shape
    state = At.shape[1]
    step_numel = batch * groups * state * per_group
    threaded = dt.device.type == "cpu" and torch.get_num_threads() > 1 and step_numel <= 8 * _SERIAL_NUMEL
    pieces = -(-step_numel // _SERIAL_NUMEL) if threaded else 1
    bounds = [(step_numel * i // pieces, step_numel * (i + 1) // pieces) for i in range(pieces)]
    chunk = min(chunk, length)
    decay = dt.new_empty(chunk, batch, groups, state, per_group)
    states = torch.empty_like(decay)
    carries = dt.new_zeros(-(-length // chunk), step_numel)
    y = dt.new_empty(length, batch, groups, 1, per_group)
    for index, start in enumerate(range(0, length, chunk)):
        n = min(chunk, length - start)
        _chunk_decay(dt[start:start + n], At, clamp, out=decay[:n])
        torch.mul(dtu[start:start + n], Bt[start:start + n], out=states[:n])
        flat_states, flat_decay = states[:n].view(n, step_numel), decay[:n].view(n, step_numel)
        for lo, hi in bounds:
            prev = carries[index, lo:hi]
            for s_row, d_row in zip(flat_states[:, lo:hi].unbind(0), flat_decay[:, lo:hi].unbind(0)):
                prev = s_row.addcmul_(d_row, prev)
        if index + 1 < len(carries):
            carries[index + 1] = flat_states[n - 1]
        torch.matmul(Ct[start:start + n], states[:n], out=y[start:start + n])
    return y, carries.view(-1, batch, groups, state, per_group)


def _may_underflow(dt, At) -> bool:
    """Whether some ``dt * At`` can fall below _MIN_LOG2_DECAY, from the bounds of both factors.

    One reduction per call instead of a clamp (and, in the backward pass, a mask) per chunk:
    the bound almost always shows that nothing needs clamping.
    """
    dt_bounds, a_bounds = torch.aminmax(dt), torch.aminmax(At)
    lowest = min(float(d * a) for d in dt_bounds for a in a_bounds)
    return not lowest >= _MIN_LOG2_DECAY  # NaN counts as "may"


def _chunk_decay(dt, At, clamp: bool, out):
    """exp(dt*A) as exp2 of the log2-scaled product, clamped when ``clamp`` (see
    _MIN_LOG2_DECAY); in ``out``."""
    torch.mul(dt, At, out=out)
    return (out.clamp_(min=_MIN_LOG2_DECAY) if clamp else out).exp2_()


class _ChunkedScan(torch.autograd.Function):
    """The chunked scan with a hand-written backward that recomputes states chunk by chunk.

    Forward saves the inputs and the state before each chunk. Backward walks the chunks in
    reverse; per chunk it rebuilds the states from the saved one, runs the reverse recurrence
    ``g_h[t] = C[t]^T g_y[t] + a[t+1] g_h[t+1]`` step by step, then forms every input gradient
    with a few batched ops: ``g_B = g_h . dtu``, ``g_dtu = B . g_h``, ``g_C = g_y . h`` and, through
    ``a = 2^(dt*A')``, ``g_dt = sum_n g_h h[t-1] a ln2 A'`` and ``g_A' = sum g_h h[t-1] a ln2 dt``.
    """

    @staticmethod
    def forward(ctx, dt, dtu, At, Bt, Ct, chunk):
        clamp = _may_underflow(dt, At)   # the backward pass decays the same values
        with torch.no_grad():
            y, carries = _scan_chunks_inplace(dt, dtu, At, Bt, Ct, chunk, clamp)
        ctx.save_for_backward(dt, dtu, At, Bt, Ct, carries)
        ctx.chunk, ctx.clamp = chunk, clamp
        return y

    @staticmethod
    def backward(ctx, gy):
        dt, dtu, At, Bt, Ct, carries = ctx.saved_tensors
        length, batch, groups, _, per_group = dt.shape
        chunk = min(ctx.chunk, length)
        gy = gy.contiguous()
        g_dt, g_dtu = torch.empty_like(dt), torch.empty_like(dtu)
        g_Bt, g_Ct = torch.empty_like(Bt), torch.empty_like(Ct)
        g_At = torch.zeros_like(At)
        CtT = Ct.transpose(-1, -2)                        # (L, b, G, N, 1)
        # Chunk-sized buffers allocated once: fresh large tensors per chunk cost more in page
        # faults than the arithmetic done in them.
        decay = dt.new_empty(chunk, batch, groups, At.shape[1], per_group)
        states, g_states, work = torch.empty_like(decay), torch.empty_like(decay), torch.empty_like(decay)
        clamp = ctx.clamp
        clamped = torch.empty(decay.shape, dtype=torch.bool, device=decay.device) if clamp else None
        g_carry = torch.zeros_like(carries[0])            # a[t+1] g_h[t+1] from the chunk after this one
        starts = list(range(0, length, chunk))
        for index in reversed(range(len(starts))):
            start = starts[index]
            n = min(chunk, length - start)
            sl = slice(start, start + n)
            a, h, g, w = decay[:n], states[:n], g_states[:n], work[:n]
            if clamp:
                torch.mul(dt[sl], At, out=w)              # log2 of the decay
                torch.lt(w, _MIN_LOG2_DECAY, out=clamped[:n])
                torch.clamp(w, min=_MIN_LOG2_DECAY, out=a).exp2_()
            else:
                _chunk_decay(dt[sl], At, False, out=a)
            torch.mul(dtu[sl], Bt[sl], out=h)
            prev = carries[index]
            for k in range(n):                            # the chunk's states again
                prev = h[k].addcmul_(a[k], prev)
            # dL/dh_t = C_t^T g_y_t + a_{t+1} dL/dh_{t+1}, backwards through the chunk
            torch.mul(CtT[sl], gy[sl], out=g)
            g[n - 1].add_(g_carry)
            for k in reversed(range(n - 1)):
                g[k].addcmul_(a[k + 1], g[k + 1])
            torch.mul(g[0], a[0], out=g_carry)
            torch.matmul(gy[sl], h.transpose(-1, -2), out=g_Ct[sl])
            torch.matmul(Bt[sl].transpose(-1, -2), g, out=g_dtu[sl])
            torch.matmul(g, dtu[sl].transpose(-1, -2), out=g_Bt[sl])
            # through a = 2^(dt*A'): dL/d(dt*A') = dL/dh_t * h_{t-1} * a_t * ln 2 (0 where clamped)
            g[1:].mul_(h[:-1])
            g[0].mul_(carries[index])
            g.mul_(a)                                     # ln 2 goes on the (small) sums below
            if clamp:
                g.masked_fill_(clamped[:n], 0.0)
            torch.sum(torch.mul(g, At, out=w), dim=3, keepdim=True, out=g_dt[sl]).mul_(_LN_2)
            g_At.add_(torch.mul(g, dt[sl], out=w).sum(dim=(0, 1)), alpha=_LN_2)
        return g_dt, g_dtu, g_At, g_Bt, g_Ct, None
