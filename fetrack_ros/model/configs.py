"""Named FEMamba configurations.

A :class:`ModelConfig` fully describes the network (it is what this project's checkpoints store),
and it carries the crop geometry that the tracker and the training code read from the model
(``model.config.template_size`` etc.) instead of repeating the numbers.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..fields import reject_unknown_fields

SCAN_BACKENDS = ("auto", "cuda", "torch", "reference")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and crop geometry of a FEMamba network.

    Sizes are in pixels (crops) or channels; ``feat_size`` is the side of the search feature map.
    """

    name: str = "vim_s"
    embed_dim: int = 384
    depth: int = 24
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int = 0  # 0: ceil(embed_dim / 16), as in Mamba
    patch_size: int = 16
    template_size: int = 128
    search_size: int = 256
    prompt_pool_size: int = 192
    head_channels: int = 256
    norm_eps: float = 1e-5
    scan_backend: str = "auto"

    def __post_init__(self) -> None:
        if self.scan_backend not in SCAN_BACKENDS:
            raise ValueError(f"scan_backend must be one of {SCAN_BACKENDS}, got {self.scan_backend!r}")
        for field in ("embed_dim", "depth", "d_state", "d_conv", "expand", "patch_size",
                      "prompt_pool_size", "head_channels"):
            if getattr(self, field) < 1:
                raise ValueError(f"ModelConfig.{field} must be >= 1, got {getattr(self, field)}")
        for field in ("template_size", "search_size"):
            if getattr(self, field) % self.patch_size:
                raise ValueError(f"ModelConfig.{field}={getattr(self, field)} is not a multiple of "
                                 f"patch_size={self.patch_size}")
        if self.dt_rank == 0:
            object.__setattr__(self, "dt_rank", math.ceil(self.embed_dim / 16))

    @property
    def d_inner(self) -> int:
        return self.expand * self.embed_dim

    @property
    def feat_size(self) -> int:
        """Side of the search feature map (and of the score/size/offset maps)."""
        return self.search_size // self.patch_size

    @property
    def template_feat_size(self) -> int:
        return self.template_size // self.patch_size

    @property
    def num_template_tokens(self) -> int:
        return self.template_feat_size ** 2

    @property
    def num_search_tokens(self) -> int:
        return self.feat_size ** 2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        reject_unknown_fields(cls, data, "ModelConfig")
        return cls(**data)


CONFIGS: dict[str, ModelConfig] = {
    # The reference configuration (Vim-S backbone, FELT/COESOT checkpoints), ~29.5 M parameters.
    "vim_s": ModelConfig(name="vim_s", embed_dim=384),
    # Same design with Vim-Tiny dimensions: the CPU / embedded option (no official weights).
    "vim_t": ModelConfig(name="vim_t", embed_dim=192),
}


def get_config(name: str, **overrides) -> ModelConfig:
    """The named config with ``overrides`` (any :class:`ModelConfig` field) applied."""
    if name not in CONFIGS:
        raise ValueError(f"unknown model {name!r}; available: {sorted(CONFIGS)}")
    known = {f.name for f in dataclasses.fields(ModelConfig)} - {"name"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown override(s) {unknown} for model {name!r}; allowed: {sorted(known)}")
    base = CONFIGS[name]
    if "embed_dim" in overrides and "dt_rank" not in overrides:
        overrides["dt_rank"] = 0  # re-derive from the new width
    return dataclasses.replace(base, **overrides)
