"""uint8 patches on the host -> normalized network inputs on the model's device."""
from __future__ import annotations

import numpy as np
import torch

#: ImageNet statistics the official weights were trained with (both modalities).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PatchNormalizer:
    """Turns ``S x S x 3`` uint8 RGB patches into ``(N, 3, S, S)`` tensors ``((p / 255) - mean) / std``.

    The patches cross to the device once, as uint8 (4x fewer bytes than float32); the float
    conversion and normalization run on the device, in float32 as in the reference, and the
    result is cast to the model's dtype.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype = torch.float32):
        self.device = torch.device(device)
        self.dtype = dtype
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    def __call__(self, *patches: np.ndarray) -> torch.Tensor:
        """Patches of one size, stacked in argument order along the batch axis."""
        stacked = np.stack(patches) if len(patches) > 1 else patches[0][None]
        # Channel-first on the uint8 copy (cheap), so the float tensors have the usual layout.
        x = torch.from_numpy(stacked).to(self.device).permute(0, 3, 1, 2).contiguous().float()
        x = (x / 255.0 - self._mean) / self._std
        return x if self.dtype == torch.float32 else x.to(self.dtype)
