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
    # per extra task ("age", "expression"), the members whose answers are averaged; a task not
    # named here comes from every member trained with it
    extras_from: dict[str, list[int]] = field(default_factory=dict)

    @property
    def attributes(self) -> list[str]:
        return next(m.attributes for m in self.members if m.attributes)

    @property
    def input_size(self) -> int:
        return self.members[0].input_size

    @property
    def extra_tasks(self) -> list[str]:
        """The extra tasks ("age", "expression") some member was trained with."""
        return [t for t in ("age", "expression") if any(t in m.extra_tasks for m in self.members)]

    @property
    def age_bins(self) -> int:
        return next((m.age_bins for m in self.members if m.age_bins), 0)

    @property
    def expressions(self) -> list[str]:
        return next((m.expressions for m in self.members if m.expressions), [])

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"architecture": "ensemble", "mirror": self.mirror,
                             "members": [m.to_dict() for m in self.members]}
        if self.extras_from:
            d["extras_from"] = self.extras_from
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnsembleConfig:
        members = [ModelConfig.from_dict(m) for m in d["members"]]
        if not members:
            raise FaceAttrError("an ensemble needs at least one member")
        # a member without attributes (an expression specialist) gives only its extra tasks
        with_attrs = [m for m in members if m.attributes]
        if not with_attrs:
            raise FaceAttrError("an ensemble needs a member with attributes")
        if any(m.attributes != with_attrs[0].attributes for m in with_attrs) \
                or any(m.input_size != members[0].input_size for m in members):
            raise FaceAttrError("ensemble members must share attributes and input size")
        for key in ("age_bins", "expressions"):
            if len({repr(getattr(m, key)) for m in members if getattr(m, key)}) > 1:
                raise FaceAttrError("ensemble members with age and expression must share their "
                                    "age bins and expressions")
        extras_from = {str(k): [int(i) for i in v] for k, v in d.get("extras_from", {}).items()}
        for task, idx in extras_from.items():
            if not idx or any(not 0 <= i < len(members) or task not in members[i].extra_tasks
                              for i in idx):
                raise FaceAttrError(f"ensemble extras_from[{task!r}] must name members "
                                    f"trained with {task}")
        return cls(members, bool(d.get("mirror", False)), extras_from)


class Ensemble(nn.Module):
    """P(present) averaged over the members (and their mirror images); the output has a single
    model's shape, (B, T, 2) logits whose softmax is that average. Age and expression come from
    the members that were trained with them, their distributions averaged (over their mirror
    images too) and given as log-probabilities; ``config.extras_from`` can name, per task, the
    members it comes from. A member without attributes (an expression specialist trained on
    FER+ alone) gives only its extra tasks."""

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(FaceAttrNet(c) for c in config.members)
        self.extra_members = [i for i, c in enumerate(config.members) if c.extra_tasks]
        self.attribute_members = [i for i, c in enumerate(config.members) if c.attributes]
        # task -> the members averaged for it (config.extras_from, else all trained with it)
        trained: dict[str, list[int]] = {}
        for i in self.extra_members:
            for t in config.members[i].extra_tasks:
                trained.setdefault(t, []).append(i)
        self.task_members = trained | config.extras_from

    def forward(self, x: torch.Tensor, all_outputs: bool = False):
        out = self.outputs(x, extras=all_outputs)
        return out if all_outputs else out["logits"]

    def outputs(self, x: torch.Tensor, extras: bool = True) -> dict[str, torch.Tensor]:
        """The averaged outputs; ``extras=False``: the attributes only (the members without
        attributes are not run)."""
        probs = []
        found: dict[str, list[torch.Tensor]] = {}
        views = [x, torch.flip(x, dims=[3])] if self.config.mirror else [x]
        for i, m in enumerate(self.members):
            if not extras and i not in self.attribute_members:
                continue
            for v in views:
                if extras and i in self.extra_members:
                    got = m(v, all_outputs=True)
                    for k, t in got.items():
                        if k != "logits" and i in self.task_members[k]:
                            found.setdefault(k, []).append(t.softmax(dim=-1))
                    logits = got["logits"]
                else:
                    logits = m(v)
                if i in self.attribute_members:
                    probs.append(logits.softmax(dim=-1)[..., 1])
        p = torch.stack(probs).mean(dim=0).clamp(1e-6, 1 - 1e-6)
        out = {"logits": torch.stack([torch.log1p(-p), torch.log(p)], dim=-1)}
        for k, ps in found.items():
            out[k] = torch.log(torch.stack(ps).mean(dim=0).clamp_min(1e-12))
        return out
