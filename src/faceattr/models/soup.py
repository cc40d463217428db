"""A model soup: the weighted average of the weights of networks fine-tuned from one another.

Networks that share their training history (one fine-tuned from the other, or both from one
start) lie in one basin of the loss, and the average of their weights is often better than
either (Wortsman et al., "Model soups", 2022) for the cost of one network, where an ensemble
(``models/ensemble.py``) costs all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from faceattr.errors import FaceAttrError
from faceattr.models.faceattr_net import FaceAttrNet
from faceattr.models.sequence import per_task as seq_per_task


def average_weights(nets: Sequence[FaceAttrNet], shares: Sequence[float]) -> FaceAttrNet:
    """One network of the first one's architecture whose every floating-point tensor is the
    ``shares``-weighted average over the networks that have it: the same name and shape, or
    for the per-task rows of the sequence (attention maps, task embeddings) the networks that
    have that task (a task only the first has keeps its rows). Shares are renormalised over
    the contributors of each tensor; integer tensors (BatchNorm's counters) are the first's."""
    if len(nets) != len(shares) or len(nets) < 2:
        raise FaceAttrError(f"a soup needs two networks or more and one share each "
                            f"({len(nets)} networks, {len(shares)} shares)")
    if not all(s > 0 for s in shares):  # NaN too
        raise FaceAttrError(f"soup shares must be positive: {list(shares)}")
    first = nets[0]
    own_tasks = first.config.task_names
    states = [n.state_dict() for n in nets]
    rows = [[n.config.task_names.index(t) if t in n.config.task_names else -1
             for t in own_tasks] for n in nets]
    out: dict[str, torch.Tensor] = {}
    for key, v in states[0].items():
        if not v.is_floating_point():
            out[key] = v.clone()
            continue
        per_task = seq_per_task(key, v, len(own_tasks))
        total = torch.zeros_like(v, dtype=torch.float64)
        weight = torch.zeros(v.shape[0] if per_task else 1, dtype=torch.float64, device=v.device)
        for n, (state, share, idx) in enumerate(zip(states, shares, rows)):
            w = state.get(key)
            if w is None:
                continue  # e.g. the age head of a network trained without age
            w = w.to(v.device, torch.float64)
            if per_task and w.shape[1:] == v.shape[1:]:  # rows matched by task name
                have = torch.tensor([i >= 0 for i in idx], device=v.device)
                take = torch.tensor([max(i, 0) for i in idx], device=v.device)
                total[have] += share * w[take[have]]
                weight[have] += share
            elif w.shape == v.shape:
                total += share * w
                weight += share
            else:
                raise FaceAttrError(f"network {n + 1} of the soup has {key} of shape "
                                    f"{tuple(w.shape)}, the first {tuple(v.shape)}: a soup "
                                    "needs one architecture")
        scale = weight.view(-1, *([1] * (v.ndim - 1))) if per_task else weight
        out[key] = (total / scale).to(v.dtype)
    soup = FaceAttrNet(first.config)
    soup.load_state_dict(out)
    return soup.eval()
