"""Bidirectional Mamba mixer ("bimamba v2") with the cross-modal prompt added to C."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import causal_conv1d, selective_scan


class BiMambaMixer(nn.Module):
    """Mamba mixer scanning each sequence forward and backward with separate weights.

    ``out = out_proj((y_fwd + flip(y_bwd)) / 2)`` where each ``y`` is a Mamba selective scan
    (causal conv + SiLU, input-dependent dt/B/C, gated by SiLU(z)); the backward scan runs on the
    flipped sequence with the ``*_b`` weights. ``prompt`` (S, L, d_state) is added to C in both
    directions WITHOUT flipping it for the backward scan (the reference does so and its weights
    depend on it). Both directions run in one conv call and one scan call (stacked channels).
    Parameter names and order match the reference (``A_log, D, A_b_log, D_b, in_proj, conv1d, ...``).
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

    def scan(self, x: torch.Tensor, prompt: torch.Tensor | None) -> torch.Tensor:
        """Gated scan outputs ``y * silu(z)`` (S, 2, d_inner, L) for [forward, backward].

        x: (S, L, d_model) normalized tokens; prompt: (S, L, d_state) or None. The backward
        output is in flipped (reversed-token) order, as the scan returns it.
        """
        seqs, length, _ = x.shape
        xz = self.in_proj(x).transpose(1, 2)                                     # (S, 2E, L)
        xs, z = xz.chunk(2, dim=1)
        xs = torch.cat([xs, xs.flip(-1)], dim=1)                                 # (S, 2E, L)
        z = torch.cat([z, z.flip(-1)], dim=1)
        conv_w = torch.cat([self.conv1d.weight, self.conv1d_b.weight])
        conv_b = torch.cat([self.conv1d.bias, self.conv1d_b.bias])
        xs = causal_conv1d(xs, conv_w, conv_b, activation="silu", backend=self.scan_backend)
        x_proj_w = torch.stack([self.x_proj.weight, self.x_proj_b.weight])       # (2, R+2N, E)
        x_dbl = torch.matmul(x_proj_w, xs.view(seqs, 2, self.d_inner, length))   # (S, 2, R+2N, L)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=2)
        dt_w = torch.stack([self.dt_proj.weight, self.dt_proj_b.weight])         # (2, E, R)
        delta = torch.matmul(dt_w, dt).reshape(seqs, 2 * self.d_inner, length)
        if prompt is not None:
            C = C + prompt.transpose(1, 2).unsqueeze(1).to(C.dtype)
        A = -torch.exp(torch.cat([self.A_log, self.A_b_log]).float())
        D = torch.cat([self.D, self.D_b]).float()
        dt_bias = torch.cat([self.dt_proj.bias, self.dt_proj_b.bias]).float()
        y = selective_scan(xs, delta, A, B.contiguous(), C.contiguous(), D, z, dt_bias,
                           delta_softplus=True, backend=self.scan_backend)
        return y.view(seqs, 2, self.d_inner, length)

    def forward(self, x: torch.Tensor, prompt: torch.Tensor | None = None) -> torch.Tensor:
        """x: (S, L, d_model) -> (S, L, d_model)."""
        y = self.scan(x, prompt)
        y = (y[:, 0] + y[:, 1].flip(-1)) / 2
        return self.out_proj(y.transpose(1, 2))
