"""CENTER box head: score, size and offset maps from the search feature map, and the box."""
from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _branch(cin: int, channels: int) -> list[nn.Module]:
    widths = [cin, channels, channels // 2, channels // 4, channels // 8]
    return [_conv_bn_relu(a, b) for a, b in zip(widths[:-1], widths[1:])]


def _clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(torch.sigmoid(x), min=1e-4, max=1 - 1e-4)


class CenterHead(nn.Module):
    """Three branches of 4 x (Conv3x3 + BN + ReLU) then a 1x1 conv (keys ``conv{1..5}_{ctr,offset,size}``).

    Input (B, C, F, F) features of the search region; outputs:
    ``score_map`` (B,1,F,F) and ``size_map`` (B,2,F,F: w, h) as sigmoids clamped to [1e-4, 1-1e-4],
    ``offset_map`` (B,2,F,F: x, y) raw, and ``pred_boxes`` (B,1,4): (cx, cy, w, h) normalized to
    the search crop, read at the score map's argmax.
    """

    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        for kind, out in (("ctr", 1), ("offset", 2), ("size", 2)):
            for i, layer in enumerate(_branch(in_channels, channels), start=1):
                self.add_module(f"conv{i}_{kind}", layer)
            self.add_module(f"conv5_{kind}", nn.Conv2d(channels // 8, out, 1))

    def _branch_out(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        for i in range(1, 6):
            x = getattr(self, f"conv{i}_{kind}")(x)
        return x

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        score_map = _clamped_sigmoid(self._branch_out(x, "ctr"))
        offset_map = self._branch_out(x, "offset")
        size_map = _clamped_sigmoid(self._branch_out(x, "size"))
        return {"pred_boxes": boxes_from_maps(score_map, size_map, offset_map).unsqueeze(1),
                "score_map": score_map, "size_map": size_map, "offset_map": offset_map}


def boxes_from_maps(score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor) -> torch.Tensor:
    """(B, 4) boxes (cx, cy, w, h) normalized to the crop, read at each score map's argmax.

    The cell (row, col) of the peak plus its offset gives the center in cells; divided by the
    map side it is normalized. Ties go to the first index in row-major order.
    """
    batch, _, side, _ = score_map.shape
    index = score_map.flatten(1).argmax(dim=1, keepdim=True)           # (B, 1)
    row, col = index // side, index % side
    gather = index.unsqueeze(1).expand(batch, 2, 1)
    size = size_map.flatten(2).gather(2, gather).squeeze(-1)          # (B, 2)
    offset = offset_map.flatten(2).gather(2, gather).squeeze(-1)      # (B, 2)
    cx = (col.to(offset.dtype) + offset[:, :1]) / side
    cy = (row.to(offset.dtype) + offset[:, 1:]) / side
    return torch.cat([cx, cy, size], dim=1)
