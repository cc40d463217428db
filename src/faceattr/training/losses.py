"""Multi-task losses over T binary attribute tasks.

All take logits (B, T, 2) and labels (B, T) and return ``(loss, task_losses)``, where
``task_losses`` (T,) holds a_j, the mean cross-entropy of task j over the batch.

``patent`` is our **reconstruction** of the dynamic loss of CN109190514B, whose formula is
missing from our copy of the patent; it uses exactly the quantities the patent names (a_j, their
mean l_avg, the largest and smallest task losses l_max, l_min)::

    w_j = 1 + (a_j - l_avg) / (l_max - l_min)      (no gradient through w_j; all w_j = 1
                                                    when l_max - l_min is within rounding)
    L   = (1/T) * sum_j w_j * a_j

Because |a_j - l_avg| <= l_max - l_min, every w_j lies in [0, 2] and the w_j average exactly 1:
harder tasks weigh more, easier ones less, and the overall scale matches the plain mean. With
``ema > 0`` the statistics come from an exponential moving average of the task losses instead of
the current batch alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def task_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """a_j: mean cross-entropy per task, shape (T,). ``labels``: 0/1 integers, or (distillation)
    floats, the probability the target gives to "present" (a mix of the label and a teacher's
    probability: the cross-entropy is linear in it, so this is the mix of the two losses)."""
    b, t, _ = logits.shape
    flat = logits.reshape(b * t, 2).float()
    if labels.is_floating_point():
        q = labels.reshape(b * t, 1).float()
        ce = F.cross_entropy(flat, torch.cat([1 - q, q], dim=1), reduction="none")
    else:
        ce = F.cross_entropy(flat, labels.reshape(b * t), reduction="none")
    return ce.view(b, t).mean(dim=0)


def patent_weights(a: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """w_j = 1 + (a_j - l_avg) / (l_max - l_min), computed without gradient."""
    a = a.detach()
    spread = a.max() - a.min()
    if spread <= eps * max(1.0, float(a.abs().max())):  # all tasks equal (up to rounding)
        return torch.ones_like(a)
    return 1.0 + (a - a.mean()) / spread


class MeanLoss(nn.Module):
    """Plain average of the per-task cross-entropies."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor):
        a = task_losses(logits, labels)
        return a.mean(), a


class PatentLoss(nn.Module):
    """The reconstructed dynamic multi-task loss (see the module docstring)."""

    def __init__(self, tasks: int, ema: float = 0.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.ema, self.eps = ema, eps
        self.register_buffer("running", torch.zeros(tasks))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def weights(self, a: torch.Tensor) -> torch.Tensor:
        stats = a.detach()
        if self.ema > 0:
            if self.training:
                if not bool(self.initialised):
                    self.running.copy_(stats)
                    self.initialised.fill_(True)
                else:
                    self.running.mul_(self.ema).add_(stats, alpha=1 - self.ema)
            stats = self.running if bool(self.initialised) else stats
        return patent_weights(stats, self.eps)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor):
        a = task_losses(logits, labels)
        return (self.weights(a) * a).mean(), a


class UncertaintyLoss(nn.Module):
    """Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018): a learnable log-variance s_j
    per task, L = (1/T) * sum_j (exp(-s_j) * a_j + s_j / 2)."""

    def __init__(self, tasks: int) -> None:
        super().__init__()
        self.log_var = nn.Parameter(torch.zeros(tasks))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor):
        a = task_losses(logits, labels)
        return (torch.exp(-self.log_var) * a + 0.5 * self.log_var).mean(), a


def build_loss(kind: str, tasks: int, ema: float = 0.0) -> nn.Module:
    if kind == "mean":
        return MeanLoss()
    if kind == "patent":
        return PatentLoss(tasks, ema)
    if kind == "uncertainty":
        return UncertaintyLoss(tasks)
    from faceattr.errors import FaceAttrError

    raise FaceAttrError(f"unknown loss {kind!r}; use mean, patent or uncertainty")
