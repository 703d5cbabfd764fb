"""The FEMamba network of Mamba-FETrack V2: FE-Vim backbone + CENTER box head."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .configs import ModelConfig, get_config
from .modules.backbone import BackboneOutput, FEVimBackbone
from .modules.head import CenterHead


class FEMamba(nn.Module):
    """RGB + event single-object tracking network (state dict keys ``backbone.*``, ``box_head.*``).

    ``forward(template_rgb, template_event, search_rgb, search_event)`` takes ImageNet-normalized
    RGB-order crops, templates (B,3,T,T) and searches (B,3,S,S) with T, S = ``config.template_size``,
    ``config.search_size``, and returns a dict with, for F = ``config.feat_size``:

    - ``pred_boxes`` (B,1,4): (cx, cy, w, h) normalized to the search crop;
    - ``score_map`` (B,1,F,F), ``size_map`` (B,2,F,F: w,h), ``offset_map`` (B,2,F,F: x,y).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.backbone = FEVimBackbone(config)
        self.box_head = CenterHead(config.embed_dim, config.head_channels)

    def forward(self, template_rgb: torch.Tensor, template_event: torch.Tensor, search_rgb: torch.Tensor,
                search_event: torch.Tensor) -> dict[str, torch.Tensor]:
        self._check_inputs(template_rgb, template_event, search_rgb, search_event)
        return self.head(self.backbone(template_rgb, template_event, search_rgb, search_event))

    def head(self, out: BackboneOutput) -> dict[str, torch.Tensor]:
        """Box head on the sum of the two modalities' search tokens."""
        cfg = self.config
        nz, nx = cfg.num_template_tokens, cfg.num_search_tokens
        search = out.features[:, nz:nz + nx] + out.features[:, 2 * nz + nx:]      # (B, Nx, D)
        feat = search.transpose(1, 2).reshape(-1, cfg.embed_dim, cfg.feat_size, cfg.feat_size)
        return self.box_head(feat)

    def _check_inputs(self, template_rgb, template_event, search_rgb, search_event) -> None:
        cfg = self.config
        batch = template_rgb.shape[0] if template_rgb.dim() == 4 else None
        dtype = self.backbone.pos_embed_x.dtype
        for name, tensor, side in (("template_rgb", template_rgb, cfg.template_size),
                                   ("template_event", template_event, cfg.template_size),
                                   ("search_rgb", search_rgb, cfg.search_size),
                                   ("search_event", search_event, cfg.search_size)):
            if tuple(tensor.shape) != (batch, 3, side, side):
                raise ValueError(f"{name} must have shape (B, 3, {side}, {side}) with the same B for all "
                                 f"inputs (B={batch}); got {tuple(tensor.shape)}")
            if tensor.dtype != dtype:
                raise TypeError(f"{name} has dtype {tensor.dtype} but the model runs in {dtype}; convert "
                                f"the inputs (or the model, with model.to({dtype}))")

    def set_scan_backend(self, backend: str) -> "FEMamba":
        """Switch every mixer to ``backend`` (``auto | cuda | torch | reference``); returns self."""
        self.config = dataclasses.replace(self.config, scan_backend=backend)  # validates the name
        for module in self.modules():
            if hasattr(module, "scan_backend"):
                module.scan_backend = backend
        return self


def build_model(name: str = "vim_s", **overrides) -> FEMamba:
    """A freshly initialized FEMamba for a named config (``"vim_s"``, ``"vim_t"``).

    ``overrides`` replace config fields, e.g. ``depth=2`` or ``scan_backend="torch"``. The model
    is returned in eval mode (deterministic routing); call ``.train()`` for training.
    """
    return FEMamba(get_config(name, **overrides)).eval()
