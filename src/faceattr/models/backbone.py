"""Front-end CNN: an improved, compact take on the patent's AlexNet + BN + PReLU design.

Residual stages of 3x3 conv + BatchNorm + PReLU/ReLU blocks; each stage after the first halves
the resolution. A 64x64 face becomes a 4x4 map of ``widths[-1]`` channels.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def activation(kind: str, channels: int) -> nn.Module:
    return nn.PReLU(channels) if kind == "prelu" else nn.ReLU(inplace=True)


def norm_layer(kind: str, channels: int) -> nn.Module:
    """BatchNorm (default) or GroupNorm (no cross-sample statistics)."""
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)
    return nn.BatchNorm2d(channels)


def conv_bn(cin: int, cout: int, stride: int = 1, norm: str = "batch") -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), norm_layer(norm, cout))


class ResidualBlock(nn.Module):
    """conv-BN-act-conv-BN plus a (projected) shortcut, then act."""

    def __init__(self, cin: int, cout: int, stride: int, act: str, norm: str = "batch") -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, stride, norm), activation(act, cout),
                                  conv_bn(cout, cout, 1, norm))
        self.short = (nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), norm_layer(norm, cout)))
        self.act = activation(act, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.short(x))


class Backbone(nn.Module):
    """Stem (stride 2, or 1 for small faces) then one residual stage per width; stages 2..
    downsample by 2."""

    def __init__(self, widths: list[int], depths: list[int], act: str = "prelu",
                 norm: str = "batch", stem_stride: int = 2) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, widths[0], stem_stride, norm),
                                  activation(act, widths[0]))
        layers: list[nn.Module] = []
        cin = widths[0]
        for i, (w, d) in enumerate(zip(widths, depths)):
            for j in range(d):
                layers.append(ResidualBlock(cin, w, 2 if (i > 0 and j == 0) else 1, act, norm))
                cin = w
        self.stages = nn.Sequential(*layers)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))
