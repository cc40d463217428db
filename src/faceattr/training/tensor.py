"""From framed uint8 faces to the network's input tensor."""

from __future__ import annotations

import numpy as np
import torch


def to_unit(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (B, H, W, 3) array -> float (B, 3, H, W) tensor in [0, 1] on ``device``."""
    t = torch.from_numpy(images).to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def normalise(x: torch.Tensor, mean: float = 0.5, std: float = 0.5) -> torch.Tensor:
    """In-place ``(x - mean) / std``."""
    return x.sub_(mean).div_(std)
