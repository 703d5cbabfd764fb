"""Cross-modal prompt generation: a pool of prompts, and a router picking one per token.

The pool is the elementwise product of two learned tables (``rgb_specific_prompt`` and
``event_specific_prompt``, each (pool, d_state)); a small MLP gives each token a log-probability
over the pool, and the token's prompt is the chosen pool entry. The prompt is later added to the
selective scan's C of the OTHER modality.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_router(embed_dim: int, pool_size: int) -> nn.Sequential:
    """``Linear(D, D) - GELU - Linear(D, pool) - LogSoftmax`` (keys ``route.0`` and ``route.2``)."""
    return nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.GELU(), nn.Linear(embed_dim, pool_size),
                         nn.LogSoftmax(dim=-1))


def route_prompts(log_probs: torch.Tensor, pool: torch.Tensor, hard_gumbel: bool,
                  tau: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token prompts (..., d_state) and the chosen pool indices (...,) int64.

    log_probs: (..., pool) router output. With ``hard_gumbel`` (training) the choice is a hard
    Gumbel-softmax sample with the straight-through gradient, as in the reference; otherwise the
    noise-free argmax (first index on ties), so inference is deterministic.
    """
    if hard_gumbel:
        one_hot = F.gumbel_softmax(log_probs, tau=tau, hard=True)
        return one_hot.to(pool.dtype) @ pool, one_hot.argmax(-1)
    index = log_probs.argmax(-1)
    return pool[index], index
