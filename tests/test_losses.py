import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from faceattr.training.losses import (
    MeanLoss,
    PatentLoss,
    UncertaintyLoss,
    build_loss,
    patent_weights,
    task_losses,
)


def batch(seed: int = 0, b: int = 16, t: int = 40):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, 2, generator=g), torch.randint(0, 2, (b, t), generator=g)


def test_equal_task_losses_give_the_plain_mean():
    a = torch.full((40,), 0.7)
    assert torch.allclose(patent_weights(a), torch.ones(40))
    logits = torch.zeros(8, 40, 2)  # every task has loss ln 2
    labels = torch.randint(0, 2, (8, 40))
    lp, _ = PatentLoss(40)(logits, labels)
    lm, _ = MeanLoss()(logits, labels)
    assert torch.allclose(lp, lm)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 20, allow_nan=False), min_size=2, max_size=60))
def test_weights_average_one_and_lie_in_0_2(values):
    w = patent_weights(torch.tensor(values, dtype=torch.float64))
    assert abs(w.mean().item() - 1.0) < 1e-9
    assert w.min().item() >= -1e-9 and w.max().item() <= 2 + 1e-9


def test_harder_tasks_weigh_more():
    w = patent_weights(torch.tensor([0.1, 0.5, 0.9]))
    assert w[0] < w[1] < w[2]
    assert w[0].item() == pytest.approx(0.5) and w[2].item() == pytest.approx(1.5)


def test_no_gradient_through_the_weights():
    logits, labels = batch()
    logits.requires_grad_(True)
    loss, _ = PatentLoss(40)(logits, labels)
    loss.backward()
    grad = logits.grad.clone()
    # the same loss with the weights as constants: identical gradient
    logits.grad = None
    a2 = task_losses(logits, labels)
    w = patent_weights(a2).clone()
    (w * a2).mean().backward()
    assert torch.allclose(grad, logits.grad)
    assert not patent_weights(a2).requires_grad


def test_ema_statistics():
    loss = PatentLoss(3, ema=0.5).train()
    w1 = loss.weights(torch.tensor([1.0, 2.0, 3.0]))
    assert torch.allclose(w1, patent_weights(torch.tensor([1.0, 2.0, 3.0])))
    loss.weights(torch.tensor([3.0, 2.0, 1.0]))
    assert torch.allclose(loss.running, torch.tensor([2.0, 2.0, 2.0]))


def test_mean_and_uncertainty():
    logits, labels = batch(1)
    lm, a = MeanLoss()(logits, labels)
    assert torch.allclose(lm, a.mean())
    u = UncertaintyLoss(40)
    lu, _ = u(logits, labels)  # log-variances start at 0: plain mean
    assert torch.allclose(lu, lm)
    # away from 0 the formula, term by term: exp(-s) a + s / 2; a sign flip in either fails
    with torch.no_grad():
        u.log_var.copy_(torch.linspace(-1.0, 1.5, 40))
    lu, a = u(logits, labels)
    s = u.log_var.detach()
    assert torch.allclose(lu, (torch.exp(-s) * a + 0.5 * s).mean())
    lu.backward()  # d/ds_j = (-exp(-s_j) a_j + 1/2) / T
    assert torch.allclose(u.log_var.grad, (-torch.exp(-s) * a.detach() + 0.5) / 40, atol=1e-6)
    assert isinstance(build_loss("patent", 40, 0.9), PatentLoss)
