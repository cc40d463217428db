import numpy as np
import pytest

from faceattr.evaluation.consistency import violations
from faceattr.evaluation.metrics import (
    attribute_metrics,
    majority_baseline,
    summary,
    tune_thresholds,
)


def test_metrics_on_a_known_case():
    truth = np.array([[1, 0], [1, 0], [0, 0], [0, 1]])
    pred = np.array([[1, 0], [0, 0], [0, 0], [0, 0]])
    m = attribute_metrics(pred, truth)
    assert m["accuracy"].tolist() == [0.75, 0.75]
    # attribute 0: TPR 1/2, TNR 2/2 -> 0.75; attribute 1: TPR 0/1, TNR 3/3 -> 0.5
    assert m["balanced_accuracy"].tolist() == [0.75, 0.5]
    assert m["f1"][0] == pytest.approx(2 / 3) and m["f1"][1] == 0
    assert summary(pred, truth) == (0.75, 0.625)


def test_majority_baseline_uses_training_prevalence():
    truth = np.array([[1], [1], [0], [0]])
    assert majority_baseline(truth, np.array([0.9])) == 0.5
    assert majority_baseline(np.array([[1], [1], [1], [0]]), None) == 0.75


def test_tuned_thresholds_maximise_balanced_accuracy():
    rng = np.random.default_rng(0)
    truth = (rng.random((2000, 1)) < 0.1).astype(np.uint8)  # rare attribute
    prob = np.clip(0.05 + 0.3 * truth + 0.1 * rng.standard_normal(truth.shape), 0, 1)
    t = tune_thresholds(prob, truth)
    _, bacc_tuned = summary((prob >= t).astype(np.uint8), truth)
    _, bacc_half = summary((prob >= 0.5).astype(np.uint8), truth)
    assert t[0] < 0.5 and bacc_tuned > bacc_half + 0.2


def test_consistency_rules():
    attrs = ("No_Beard", "Goatee", "Mustache", "Bald", "Bangs", "Black_Hair", "Blond_Hair",
             "Brown_Hair", "Gray_Hair")
    rows = np.array([
        [1, 0, 0, 0, 0, 1, 0, 0, 0],  # fine
        [1, 1, 0, 0, 0, 0, 0, 0, 0],  # no beard but goatee
        [0, 0, 0, 1, 1, 0, 0, 0, 0],  # bald with bangs
        [0, 0, 0, 0, 0, 1, 1, 0, 0],  # two hair colours
    ])
    v = violations(rows, attrs)
    assert v["any"] == 0.75
    assert v["rules"]["no beard but goatee"] == 0.25
    assert v["rules"]["two hair colours"] == 0.25
    assert "straight and wavy hair" not in v["rules"]  # attributes absent: rule left out
