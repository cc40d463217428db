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
        out, _ = self.lstm(steps)  # (B, T, 2 * hidden): [forward_t ; backward_t]
        return self.fc(self.drop(out))  # (B, T, 2)


class FCHead(nn.Module):
    """Ablation: one linear layer from the pooled CNN feature to T x 2."""

    def __init__(self, channels: int, tasks: int, dropout: float) -> None:
        super().__init__()
        self.tasks = tasks
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, tasks * 2)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(fmap.mean(dim=(2, 3)))).view(-1, self.tasks, 2)
