"""Batch augmentation on uint8 image tensors: flip, small scale/shift jitter, colour jitter.

Works on a whole batch at once (one ``grid_sample``), so the loader stays far ahead of training.
Reproducible: every random draw comes from the ``torch.Generator`` passed in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from faceattr.preprocess.framing import FILL, get_framing
from faceattr.training.settings import AugmentSettings

# The source whose images cover only part of the canonical square (framings.toml).
PARTIAL_FRAMING = "celeba-crop108"


# The augmentation settings are defined once, with their bounds, in training/settings.py.
AugmentConfig = AugmentSettings


def augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Augment a float batch in [0, 1] of shape (B, 3, H, W); returns a new tensor."""
    b = x.shape[0]
    if cfg.border > 0:
        x = blank_border(x, torch.rand(b, generator=gen) < cfg.border)

    def u(lo: float, hi: float) -> torch.Tensor:  # drawn on the CPU generator, used on x's device
        return (torch.rand(b, generator=gen) * (hi - lo) + lo).to(x.device)

    s = u(1 - cfg.scale, 1 + cfg.scale)
    a = torch.deg2rad(u(-cfg.rotate, cfg.rotate))
    flip = torch.where(torch.rand(b, generator=gen) < cfg.flip, -1.0, 1.0).to(x.device)
    tx, ty = u(-cfg.shift, cfg.shift) * 2, u(-cfg.shift, cfg.shift) * 2
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0] = torch.cos(a) / s * flip
    theta[:, 0, 1] = -torch.sin(a) / s
    theta[:, 1, 0] = torch.sin(a) / s * flip
    theta[:, 1, 1] = torch.cos(a) / s
    theta[:, 0, 2], theta[:, 1, 2] = tx, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # colour jitter: brightness, contrast, saturation (per image)
    x = x * u(1 - cfg.brightness, 1 + cfg.brightness).view(b, 1, 1, 1)
    grey = x.mean(dim=1, keepdim=True)
    m = grey.mean(dim=(2, 3), keepdim=True)
    x = (x - m) * u(1 - cfg.contrast, 1 + cfg.contrast).view(b, 1, 1, 1) + m
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * u(1 - cfg.saturation, 1 + cfg.saturation).view(b, 1, 1, 1) + grey
    if cfg.grey > 0:  # drawn last so that runs with grey = 0 keep their random stream
        which = (torch.rand(b, generator=gen) < cfg.grey).to(x.device).view(b, 1, 1, 1)
        x = torch.where(which, to_grey(x), x)
    return x.clamp_(0.0, 1.0)


def to_grey(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma (what Pillow's ``convert("L")`` computes), repeated over the 3 channels."""
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True).expand_as(x)


def blank_border(x: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Fill the part of the canonical square that the tight crop lacks, in the images ``which``."""
    if not which.any():
        return x
    h, w = x.shape[-2:]
    x0, y0, x1, y1 = get_framing(PARTIAL_FRAMING).coverage()
    keep = torch.zeros(h, w, dtype=torch.bool, device=x.device)
    keep[round(y0 * h):round(y1 * h), round(x0 * w):round(x1 * w)] = True
    x = x.clone()
    which = which.to(x.device)
    x[which] = torch.where(keep, x[which], FILL[0] / 255)
    return x
