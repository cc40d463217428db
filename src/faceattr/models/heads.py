"""Heads that map features to 2 logits per attribute: the patent's BiLSTM, or a plain FC."""

from __future__ import annotations

import torch
from torch import nn


class BiLSTMHead(nn.Module):
    """A forward LSTM scans steps 1..T, a backward LSTM scans T..1; their outputs are joined per
    step and one fully connected layer, shared over the steps, gives 2 logits per step."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, 2)

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        """(B, T, 2) logits of every step."""
        return self.fc(self.drop(self.scan(steps)))

    def scan(self, steps: torch.Tensor) -> torch.Tensor:
        """(B, T, 2 * hidden): [forward_t ; backward_t] for every step."""
        return self.lstm(steps)[0]


class FCHead(nn.Module):
    """Ablation: one linear layer from the pooled CNN feature to T x 2."""

    def __init__(self, channels: int, tasks: int, dropout: float) -> None:
        super().__init__()
        self.tasks = tasks
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, tasks * 2)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(fmap.mean(dim=(2, 3)))).view(-1, self.tasks, 2)


class ExtraHead(nn.Module):
    """A non-binary task read from its own step: the BiLSTM output there (what the scan learned
    from the related attributes) joined with the step's pooled CNN features, through one hidden
    layer, to ``classes`` logits (age bins or expressions)."""

    def __init__(self, features: int, hidden: int, classes: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)
