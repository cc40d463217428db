"""An ensemble: several FaceAttrNets (and, optionally, each on the mirror image too) averaged in
one network, so that it exports to one ONNX graph and runs like any single model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from faceattr.errors import FaceAttrError
from faceattr.models.config import ModelConfig
from faceattr.models.faceattr_net import FaceAttrNet


@dataclass
class EnsembleConfig:
    members: list[ModelConfig] = field(default_factory=list)
    mirror: bool = False  # also average each member on the mirror image

    @property
    def attributes(self) -> list[str]:
        return self.members[0].attributes

    @property
    def input_size(self) -> int:
        return self.members[0].input_size

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": "ensemble", "mirror": self.mirror,
                "members": [m.to_dict() for m in self.members]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnsembleConfig:
        members = [ModelConfig.from_dict(m) for m in d["members"]]
        if not members:
            raise FaceAttrError("an ensemble needs at least one member")
        first = members[0]
        for m in members[1:]:
            if m.attributes != first.attributes or m.input_size != first.input_size:
                raise FaceAttrError("ensemble members must share attributes and input size")
        return cls(members, bool(d.get("mirror", False)))


class Ensemble(nn.Module):
    """P(present) averaged over the members (and their mirror images); the output has a single
    model's shape, (B, T, 2) logits whose softmax is that average."""

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(FaceAttrNet(c) for c in config.members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = []
        for m in self.members:
            probs.append(m(x).softmax(dim=-1)[..., 1])
            if self.config.mirror:
                probs.append(m(torch.flip(x, dims=[3])).softmax(dim=-1)[..., 1])
        p = torch.stack(probs).mean(dim=0).clamp(1e-6, 1 - 1e-6)
        return torch.stack([torch.log1p(-p), torch.log(p)], dim=-1)
