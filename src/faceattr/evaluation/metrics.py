"""Per-attribute and mean metrics for binary multi-attribute predictions."""

from __future__ import annotations

import numpy as np


def known(truth: np.ndarray) -> np.ndarray:
    """Which labels are known: 0 or 1 (an unknown one is ``MISSING``, 255, or -1)."""
    t = np.asarray(truth)
    return (t == 0) | (t == 1)


def attribute_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy and F1 per attribute over the rows whose label is known.
    ``pred``/``truth``: (N, A) in {0, 1} (``truth`` may hold unknown labels, see
    :func:`known`); an attribute with no known label gets NaN."""
    k = known(truth)
    pred, truth = pred.astype(bool), np.asarray(truth) == 1
    tp = (pred & truth & k).sum(0).astype(float)
    tn = (~pred & ~truth & k).sum(0).astype(float)
    fp = (pred & ~truth & k).sum(0).astype(float)
    fn = (~pred & truth & k).sum(0).astype(float)
    n = k.sum(0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        tnr = np.where(tn + fp > 0, tn / (tn + fp), np.nan)
        bacc = np.nanmean(np.stack([tpr, tnr]), axis=0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    acc = np.where(n > 0, (tp + tn) / np.maximum(n, 1), np.nan)
    return {"accuracy": acc, "balanced_accuracy": bacc, "f1": f1}


def summary(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(mean accuracy, balanced accuracy) over attributes (those with known labels)."""
    m = attribute_metrics(pred, truth)
    return float(np.nanmean(m["accuracy"])), float(np.nanmean(m["balanced_accuracy"]))


def majority_baseline(truth: np.ndarray, train_prevalence: np.ndarray | None) -> float:
    """Mean accuracy of predicting each attribute's most common training value."""
    k = known(truth)
    t = np.where(k, truth, 0).astype(float)
    prev = train_prevalence if train_prevalence is not None else \
        t.sum(0) / np.maximum(k.sum(0), 1)
    majority = (np.asarray(prev) > 0.5).astype(np.uint8)
    right = ((np.asarray(truth) == majority[None]) & k).sum(0) / np.maximum(k.sum(0), 1)
    return float(right[k.any(0)].mean()) if k.any() else float("nan")


def tune_thresholds(prob: np.ndarray, truth: np.ndarray,
                    grid: np.ndarray | None = None) -> np.ndarray:
    """Per-attribute threshold on P(present) that maximises balanced accuracy."""
    grid = np.linspace(0.02, 0.98, 49) if grid is None else grid
    k = known(truth)
    neg_truth = (np.asarray(truth) == 0) & k
    truth = (np.asarray(truth) == 1) & k
    pos = truth.sum(0).astype(float)
    neg = neg_truth.sum(0).astype(float)
    best = np.full(prob.shape[1], 0.5)
    best_score = np.full(prob.shape[1], -1.0)
    for t in grid:
        pred = prob >= t
        tpr = np.where(pos > 0, (pred & truth).sum(0) / np.maximum(pos, 1), 1.0)
        tnr = np.where(neg > 0, (~pred & neg_truth).sum(0) / np.maximum(neg, 1), 1.0)
        score = (tpr + tnr) / 2
        better = score > best_score + 1e-12
        best[better], best_score[better] = t, score[better]
    return best
