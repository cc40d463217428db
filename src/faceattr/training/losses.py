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

    running: torch.Tensor
    initialised: torch.Tensor

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


# ---- mixed training: 40 binary tasks, an age distribution and an expression distribution -------
#
# Each image contributes the losses of the tasks it has labels for: a_j is the mean over the rows
# of the batch labelled for task j (a CelebA face has no age, a UTKFace face no attributes).
#   attributes  a_j = cross-entropy (as above) over the CelebA rows
#   age         a   = KL(q || p) + age_l1 * |E_p[age] - age| (years), q a Gaussian over the age
#                     bins centred on the label (label distribution learning, DLDL-v2)
#   expression  a   = KL(q || p), q the share of the votes per emotion (FER+'s distribution)
# The tasks' losses differ in scale (a binary cross-entropy near 0.2, a 101-bin KL near 1), so the
# dynamic weights are computed on each task's loss relative to its own start, r_j = a_j / ref_j
# (ref_j: the mean of a_j over the first REF_STEPS steps): a task that has improved least since
# the start weighs most. L = sum_j lambda_j w_j a_j / sum_j lambda_j over the tasks present,
# lambda_j = 1 for an attribute and loss.extra_weight for age and for expression.

REF_STEPS = 100


def age_targets(age: torch.Tensor, bins: int, sigma: float) -> torch.Tensor:
    """Gaussian label distributions (B, bins) centred on each age (clipped to the bins)."""
    grid = torch.arange(bins, device=age.device, dtype=torch.float32)
    q = torch.exp(-0.5 * ((grid[None] - age.clamp(0, bins - 1)[:, None]) / sigma) ** 2)
    return q / q.sum(dim=1, keepdim=True)


def kl_loss(logits: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(q || softmax(logits))."""
    logp = F.log_softmax(logits.float(), dim=1)
    return (q * (torch.log(q.clamp_min(1e-12)) - logp)).sum(dim=1).mean()


def expected_age(logits: torch.Tensor) -> torch.Tensor:
    """The mean of the age distribution (differentiable: the L1 term of the age loss)."""
    grid = torch.arange(logits.shape[1], device=logits.device, dtype=torch.float32)
    return (logits.float().softmax(dim=1) * grid).sum(dim=1)


def mixed_task_losses(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                      sigma: float = 2.0, l1: float = 0.1
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(a (T,), present (T,) bool): the attribute tasks, then age and expression (those the
    model has), each averaged over the rows that carry its label."""
    logits, labels = outputs["logits"], targets["attributes"]
    b, t, _ = logits.shape
    mask = labels >= 0
    ce = F.cross_entropy(logits.reshape(b * t, 2).float(), labels.clamp_min(0).reshape(b * t),
                         reduction="none").view(b, t)
    counts = mask.sum(dim=0)
    losses = [(ce * mask).sum(dim=0) / counts.clamp_min(1)]
    present = [counts > 0]
    zero = logits.new_zeros((), dtype=torch.float32)
    if "age" in outputs:
        rows = torch.isfinite(targets["age"])
        if rows.any():
            age, out = targets["age"][rows], outputs["age"][rows]
            a = kl_loss(out, age_targets(age, out.shape[1], sigma))
            a = a + l1 * (expected_age(out) - age).abs().mean()
        else:
            a = zero
        losses.append(a.reshape(1))
        present.append(rows.any().reshape(1))
    if "expression" in outputs:
        rows = targets["expression"].sum(dim=1) > 0
        a = kl_loss(outputs["expression"][rows], targets["expression"][rows]) if rows.any() \
            else zero
        losses.append(a.reshape(1))
        present.append(rows.any().reshape(1))
    return torch.cat(losses), torch.cat(present)


class MixedLoss(nn.Module):
    """The dynamic multi-task loss (``patent``) or the plain mean (``mean``) over attribute,
    age and expression tasks, each image contributing the tasks it has labels for (see above)."""

    lam: torch.Tensor
    ref: torch.Tensor
    ref_count: torch.Tensor

    def __init__(self, kind: str, attributes: int, extras: int, extra_weight: float = 10.0,
                 sigma: float = 2.0, l1: float = 0.1) -> None:
        super().__init__()
        if kind not in ("patent", "mean"):
            from faceattr.errors import FaceAttrError

            raise FaceAttrError(f"loss.kind = {kind!r} does not train age or expression; use "
                                "patent or mean")
        self.kind, self.sigma, self.l1 = kind, sigma, l1
        t = attributes + extras
        lam = torch.ones(t)
        lam[attributes:] = extra_weight
        self.register_buffer("lam", lam)
        self.register_buffer("ref", torch.zeros(t))
        self.register_buffer("ref_count", torch.zeros(t))

    def weights(self, a: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """w_j (no gradient): the patent's formula on r_j = a_j / ref_j over the tasks present."""
        a = a.detach()
        if self.training:  # ref_j: the mean of the first REF_STEPS losses of each task
            grow = present & (self.ref_count < REF_STEPS)
            self.ref_count += grow.float()
            step = (a - self.ref) / self.ref_count.clamp_min(1)
            self.ref.copy_(torch.where(grow, self.ref + step, self.ref))
        if self.kind == "mean" or int(present.sum()) < 2:
            return torch.ones_like(a)
        r = a / self.ref.clamp_min(1e-6)
        w = torch.ones_like(a)
        w[present] = patent_weights(r[present])
        return w

    def forward(self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]):
        a, present = mixed_task_losses(outputs, targets, self.sigma, self.l1)
        lam = self.lam * present
        return (lam * self.weights(a, present) * a).sum() / lam.sum().clamp_min(1e-9), a
