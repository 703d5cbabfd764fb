"""Bidirectional Mamba mixer ("bimamba v2") with the cross-modal prompt added to C."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..ops import causal_conv1d, selective_scan


class BiMambaMixer(nn.Module):
    """Mamba mixer scanning each sequence forward and backward with separate weights.

    ``out = out_proj((y_fwd + flip(y_bwd)) / 2)`` where each ``y`` is a Mamba selective scan
    (causal conv + SiLU, input-dependent dt/B/C, gated by SiLU(z)); the backward scan runs on the
    flipped sequence with the ``*_b`` weights. ``prompt`` (S, L, d_state) is added to C in both
    directions WITHOUT flipping it for the backward scan (the reference does so and its weights
    depend on it). Parameter names and order match the reference (``A_log, D, A_b_log, D_b,
    in_proj, conv1d, x_proj, dt_proj, conv1d_b, x_proj_b, dt_proj_b, out_proj``).

    Both directions of all sequences run as ONE conv and ONE scan: the directions are stacked as
    channel groups. Activations are kept time-major, (L, S, direction, channels) in memory, which is
    the layout the torch scan works in, so no large transposes are needed; the ops receive
    (S, channels, L) views of it.
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | None = None, scan_backend: str = "auto",
                 dt_min: float = 0.001, dt_max: float = 0.1, dt_init_floor: float = 1e-4):
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = expand * d_model
        self.dt_rank = dt_rank or math.ceil(d_model / 16)
        self.scan_backend = scan_backend
        a_log = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(a_log.clone())
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.A_b_log = nn.Parameter(a_log.clone())
        self.D_b = nn.Parameter(torch.ones(self.d_inner))
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d, self.x_proj, self.dt_proj = self._direction_layers()
        self.conv1d_b, self.x_proj_b, self.dt_proj_b = self._direction_layers()
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)
        self._init_dt(dt_min, dt_max, dt_init_floor)

    def _direction_layers(self):
        conv = nn.Conv1d(self.d_inner, self.d_inner, self.d_conv, groups=self.d_inner,
                         padding=self.d_conv - 1)
        x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * self.d_state, bias=False)
        dt_proj = nn.Linear(self.dt_rank, self.d_inner)
        return conv, x_proj, dt_proj

    @torch.no_grad()
    def _init_dt(self, dt_min, dt_max, floor):
        # Mamba's init: dt_proj weights ~ U(+-dt_rank^-0.5); the forward bias is softplus^-1 of
        # dt ~ logU(dt_min, dt_max). The reference leaves dt_proj_b.bias at zero.
        std = self.dt_rank ** -0.5
        for proj in (self.dt_proj, self.dt_proj_b):
            nn.init.uniform_(proj.weight, -std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=floor)
        self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.dt_proj_b.bias.zero_()

    def _scan_time_major(self, x: torch.Tensor, prompt: torch.Tensor | None) -> torch.Tensor:
        """Gated scan outputs ``y * silu(z)`` as (L, S, 2, E) memory [forward, backward (flipped order)].

        x: (S, L, d_model); prompt: (S, L, d_state) or None.
        """
        seqs, length, _ = x.shape
        E, N, R = self.d_inner, self.d_state, self.dt_rank
        xz = self.in_proj(x.transpose(0, 1))                                     # (L, S, 2E)
        xs, z = xz[..., :E], xz[..., E:]
        # Directions as channel groups: (L, S, 2, E), backward = sequence flipped in time.
        xs = torch.stack([xs, xs.flip(0)], dim=2)
        z = torch.stack([z, z.flip(0)], dim=2)

        def channels_first(t):  # (L, S, 2, K) memory -> (S, 2K, L) view
            return t.reshape(length, seqs, -1).permute(1, 2, 0)

        conv_w = torch.cat([self.conv1d.weight, self.conv1d_b.weight])
        conv_b = torch.cat([self.conv1d.bias, self.conv1d_b.bias])
        xs = causal_conv1d(channels_first(xs), conv_w, conv_b, activation="silu", backend=self.scan_backend)
        xs = xs.permute(2, 0, 1).reshape(length, seqs, 2, E)                     # no copy if time-major
        x_proj_w = torch.stack([self.x_proj.weight, self.x_proj_b.weight]).transpose(1, 2)   # (2, E, R+2N)
        x_dbl = torch.bmm(xs.reshape(length * seqs, 2, E).transpose(0, 1), x_proj_w)         # (2, LS, R+2N)
        x_dbl = x_dbl.transpose(0, 1).reshape(length, seqs, 2, R + 2 * N)
        dt, B, C = torch.split(x_dbl, [R, N, N], dim=-1)
        # dt_proj of both directions as one block-diagonal matmul, straight into (L, S, 2, E).
        dt_w = torch.block_diag(self.dt_proj.weight.T, self.dt_proj_b.weight.T)  # (2R, 2E)
        delta = (dt.reshape(length * seqs, 2 * R) @ dt_w).reshape(length, seqs, 2, E)
        if prompt is not None:
            C = C + prompt.transpose(0, 1).unsqueeze(2).to(C.dtype)
        A = -torch.exp(torch.cat([self.A_log, self.A_b_log]).float())
        D = torch.cat([self.D, self.D_b]).float()
        dt_bias = torch.cat([self.dt_proj.bias, self.dt_proj_b.bias]).float()
        y = selective_scan(xs.reshape(length, seqs, 2 * E).permute(1, 2, 0), channels_first(delta), A,
                           B.permute(1, 2, 3, 0), C.permute(1, 2, 3, 0), D, channels_first(z), dt_bias,
                           delta_softplus=True, backend=self.scan_backend)                 # (S, 2E, L)
        return y.permute(2, 0, 1).reshape(length, seqs, 2, E)

    def scan(self, x: torch.Tensor, prompt: torch.Tensor | None) -> torch.Tensor:
        """Gated scan outputs ``y * silu(z)`` (S, 2, d_inner, L) for [forward, backward].

        x: (S, L, d_model) normalized tokens; prompt: (S, L, d_state) or None. The backward
        output is in flipped (reversed-token) order, as the scan returns it.
        """
        return self._scan_time_major(x, prompt).permute(1, 2, 3, 0)

    def forward(self, x: torch.Tensor, prompt: torch.Tensor | None = None) -> torch.Tensor:
        """x: (S, L, d_model) -> (S, L, d_model)."""
        y = self._scan_time_major(x, prompt)                                     # (L, S, 2, E)
        y = (y[:, :, 0] + y[:, :, 1].flip(0)) * 0.5
        return self.out_proj(y).transpose(0, 1)
