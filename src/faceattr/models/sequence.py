"""Turn the CNN feature map into a sequence of T attribute-task features of size d."""

from __future__ import annotations

import torch
from torch import nn


class LinearTasks(nn.Module):
    """Global-average-pool, then one linear map to T x d."""

    def __init__(self, channels: int, tasks: int, dim: int) -> None:
        super().__init__()
        self.tasks, self.dim = tasks, dim
        self.proj = nn.Linear(channels, tasks * dim)

    def forward(self, fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(steps (B, T, d), pooled features (B, T, C): the same global pool for every task)."""
        pooled = fmap.mean(dim=(2, 3))
        steps = self.proj(pooled).view(-1, self.tasks, self.dim)
        return steps, pooled[:, None].expand(-1, self.tasks, -1)


class AttentionTasks(nn.Module):
    """Per-attribute spatial attention: each task pools the map with its own softmax weights,
    then a shared linear map to d plus a learned per-task embedding."""

    def __init__(self, channels: int, tasks: int, dim: int) -> None:
        super().__init__()
        self.attn = nn.Conv2d(channels, tasks, 1)
        self.proj = nn.Linear(channels, dim)
        self.task_embed = nn.Parameter(torch.zeros(tasks, dim))

    def forward(self, fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(steps (B, T, d), each task's attention-pooled features (B, T, C))."""
        w = self.attn(fmap).flatten(2).softmax(dim=-1)  # (B, T, HW)
        pooled = torch.bmm(w, fmap.flatten(2).transpose(1, 2))  # (B, T, C)
        return self.proj(pooled) + self.task_embed, pooled


def per_task(key: str, tensor: torch.Tensor, tasks: int) -> bool:
    """Whether a network's state-dict entry holds one row per task step of its sequence (the
    attention maps, the task embeddings): the rows that fine-tuning and weight averaging match
    by task name."""
    return key.startswith("sequence.") and tensor.ndim > 0 and tensor.shape[0] == tasks


def build_sequence(kind: str, channels: int, tasks: int, dim: int) -> nn.Module:
    return {"linear": LinearTasks, "attention": AttentionTasks}[kind](channels, tasks, dim)
