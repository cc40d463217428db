"""FaceAttrNet: the whole network of CN109190514B, rebuilt from a :class:`ModelConfig`."""

from __future__ import annotations

import torch
from torch import nn

from faceattr.models.backbone import Backbone
from faceattr.models.config import ModelConfig
from faceattr.models.heads import BiLSTMHead, ExtraHead, FCHead
from faceattr.models.sequence import build_sequence


class FaceAttrNet(nn.Module):
    """images (B, 3, S, S) -> logits (B, T, 2), T attributes in ``config.attributes`` order.

    With age and expression tasks (``config.age_bins``, ``config.expressions``) the sequence
    gains their steps and :meth:`outputs` also gives their logits.
    """

    order: torch.Tensor  # task steps in scanning order
    inverse: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = Backbone(config.widths, config.depths, config.act, config.norm,
                                 config.stem_stride)
        c = self.backbone.out_channels
        t = len(config.task_names)
        self.head: BiLSTMHead | FCHead
        if config.head == "bilstm":
            self.sequence = build_sequence(config.sequence, c, t, config.task_dim)
            self.head = BiLSTMHead(config.task_dim, config.lstm_hidden, config.dropout)
            features = 2 * config.lstm_hidden + c if config.extra_input == "scan" else c
        else:
            self.head = FCHead(c, config.num_tasks, config.dropout)
            features = c
        self.extras = nn.ModuleDict()
        if config.age_bins:
            self.extras["age"] = ExtraHead(features, config.extra_hidden, config.age_bins,
                                           config.dropout)
        if config.expressions:
            self.extras["expression"] = ExtraHead(features, config.extra_hidden,
                                                  len(config.expressions), config.dropout)
        order = torch.tensor(config.sequence_order())
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("inverse", torch.argsort(order), persistent=False)

    def freeze_backbone(self) -> None:
        """Train only what follows the CNN: its weights fixed, its BatchNorm statistics too."""
        self.frozen = True
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True) -> FaceAttrNet:
        super().train(mode)
        if getattr(self, "frozen", False):
            self.backbone.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The CNN's feature map of the images (of their central ``config.center_crop`` pixels
        when that is set)."""
        if self.config.center_crop:
            o = (x.shape[-1] - self.config.center_crop) // 2
            x = x[..., o:o + self.config.center_crop, o:o + self.config.center_crop]
        return self.backbone(x)

    def forward(self, x: torch.Tensor, all_outputs: bool = False):
        """The attribute logits, or (``all_outputs``) the dict of :meth:`outputs` (the form
        that goes through DistributedDataParallel)."""
        out = self.outputs(x)
        return out if all_outputs else out["logits"]

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``logits`` (B, A, 2) of the attributes, and ``age`` (B, age_bins) and
        ``expression`` (B, E) logits when the model has those tasks."""
        fmap = self.features(x)
        a = self.config.num_tasks
        if self.config.head == "fc":
            out = {"logits": self.head(fmap)}
            pooled = fmap.mean(dim=(2, 3))
            for name, head in self.extras.items():
                out[name] = head(pooled)
            return out
        assert isinstance(self.head, BiLSTMHead)
        steps, pooled = self.sequence(fmap)
        scanned = self.head.scan(steps[:, self.order])[:, self.inverse]  # back to task order
        out = {"logits": self.head.fc(self.head.drop(scanned[:, :a]))}
        for i, (name, head) in enumerate(self.extras.items()):
            own = pooled[:, a + i]
            out[name] = head(torch.cat([scanned[:, a + i], own], dim=-1)
                             if self.config.extra_input == "scan" else own)
        return out

    @staticmethod
    def probabilities(logits: torch.Tensor) -> torch.Tensor:
        """Softmax per attribute; returns P(attribute present), shape (B, T)."""
        return logits.softmax(dim=-1)[..., 1]
