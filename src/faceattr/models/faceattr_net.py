"""FaceAttrNet: the whole network of CN109190514B, rebuilt from a :class:`ModelConfig`."""

from __future__ import annotations

import torch
from torch import nn

from faceattr.models.backbone import Backbone
from faceattr.models.config import ModelConfig
from faceattr.models.heads import BiLSTMHead, FCHead
from faceattr.models.sequence import build_sequence


class FaceAttrNet(nn.Module):
    """images (B, 3, S, S) -> logits (B, T, 2), T attributes in ``config.attributes`` order."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = Backbone(config.widths, config.depths, config.act, config.norm)
        c = self.backbone.out_channels
        t = config.num_tasks
        if config.head == "bilstm":
            self.sequence = build_sequence(config.sequence, c, t, config.task_dim)
            self.head: nn.Module = BiLSTMHead(config.task_dim, config.lstm_hidden, config.dropout)
        else:
            self.head = FCHead(c, t, config.dropout)
        order = torch.tensor(config.sequence_order())
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("inverse", torch.argsort(order), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.backbone(x)
        if self.config.head == "fc":
            return self.head(fmap)
        steps = self.sequence(fmap)[:, self.order]  # tasks in scanning order
        return self.head(steps)[:, self.inverse]  # back to attribute order

    @staticmethod
    def probabilities(logits: torch.Tensor) -> torch.Tensor:
        """Softmax per attribute; returns P(attribute present), shape (B, T)."""
        return logits.softmax(dim=-1)[..., 1]
