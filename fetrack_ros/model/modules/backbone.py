"""FE-Vim backbone: shared patch embedding, prompt routing, and a stack of bidirectional Mamba blocks."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..configs import ModelConfig
from .mixer import BiMambaMixer
from .norms import RMSNorm
from .prompt import make_router, route_prompts


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> tokens: (B, 3, H, W) -> (B, H*W/p^2, D), row-major (key ``proj``)."""

    def __init__(self, patch_size: int, embed_dim: int, in_chans: int = 3):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Block(nn.Module):
    """Pre-norm residual block: ``residual += h; h = mixer(RMSNorm(residual))`` (keys ``mixer``, ``norm``)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.mixer = BiMambaMixer(config.embed_dim, config.d_state, config.d_conv, config.expand,
                                  config.dt_rank, scan_backend=config.scan_backend)
        self.norm = RMSNorm(config.embed_dim, eps=config.norm_eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor | None, prompt: torch.Tensor | None):
        normed, residual = self.norm.add_norm(hidden, residual)
        return self.mixer(normed, prompt), residual


@dataclass
class BackboneOutput:
    """features: (B, 2*(Nz+Nx), D) tokens [RGB template, RGB search, event template, event search];
    prompts_rgb / prompts_event: (B, Nz+Nx, d_state) routed prompts of each modality's tokens;
    route_idx_rgb / route_idx_event: (B, Nz+Nx) int64 chosen pool entries."""

    features: torch.Tensor
    prompts_rgb: torch.Tensor
    prompts_event: torch.Tensor
    route_idx_rgb: torch.Tensor
    route_idx_event: torch.Tensor


class FEVimBackbone(nn.Module):
    """Vim backbone over RGB and event tokens with cross-modal prompts.

    Each modality's tokens ``[template, search]`` form one sequence; both sequences run through
    the same blocks (same weights), and each one's scans get the OTHER modality's prompts added to
    C. Prompts are routed once from the embedded tokens and reused by every layer.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        d = config.embed_dim
        self.config = config
        # Created (and kept in the state dict) like the reference, but never used by the forward.
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, config.num_search_tokens, d))
        self.pos_embed_z = nn.Parameter(torch.zeros(1, config.num_template_tokens, d))
        self.patch_embed = PatchEmbed(config.patch_size, d)
        self.rgb_specific_prompt = nn.Embedding(config.prompt_pool_size, config.d_state)
        self.event_specific_prompt = nn.Embedding(config.prompt_pool_size, config.d_state)
        self.route = make_router(d, config.prompt_pool_size)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.norm_f = RMSNorm(d, eps=config.norm_eps)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        for p in (self.cls_token, self.pos_embed_x, self.pos_embed_z):
            nn.init.trunc_normal_(p, std=0.02)
        for table in (self.rgb_specific_prompt, self.event_specific_prompt):
            nn.init.normal_(table.weight, std=0.02)
        for layer in self.route:
            if isinstance(layer, nn.Linear):
                nn.init.trunc_normal_(layer.weight, std=0.02)
                nn.init.zeros_(layer.bias)
        # GPT-2 style rescale of the residual branch output, as Mamba does.
        for block in self.layers:
            nn.init.kaiming_uniform_(block.mixer.out_proj.weight, a=5 ** 0.5)
            block.mixer.out_proj.weight /= len(self.layers) ** 0.5

    def prompt_pool(self) -> torch.Tensor:
        """(pool, d_state): elementwise product of the two prompt tables."""
        return self.rgb_specific_prompt.weight * self.event_specific_prompt.weight

    def embed(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Tokens [template, search] + position embeddings: (B, Nz+Nx, D)."""
        z = self.patch_embed(template) + self.pos_embed_z
        x = self.patch_embed(search) + self.pos_embed_x
        return torch.cat([z, x], dim=1)

    def forward(self, template_rgb, template_event, search_rgb, search_event) -> BackboneOutput:
        batch = template_rgb.shape[0]
        # Both modalities share the patch embedding: one call per crop size.
        tokens = self.embed(torch.cat([template_rgb, template_event]), torch.cat([search_rgb, search_event]))
        prompts, route_idx = route_prompts(self.route(tokens), self.prompt_pool().to(tokens.dtype),
                                           hard_gumbel=self.training)
        # Sequences [rgb (B), event (B)]; each takes the other modality's prompt.
        cross = torch.cat([prompts[batch:], prompts[:batch]])
        hidden, residual = tokens, None
        for layer in self.layers:
            hidden, residual = layer(hidden, residual, cross)
        features = self.norm_f.add_norm(hidden, residual)[0]
        features = torch.cat([features[:batch], features[batch:]], dim=1)
        return BackboneOutput(features, prompts[:batch], prompts[batch:], route_idx[:batch], route_idx[batch:])
