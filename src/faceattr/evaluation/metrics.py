"""Per-attribute and mean metrics for binary multi-attribute predictions."""

from __future__ import annotations

import numpy as np


def attribute_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy and F1 per attribute. ``pred``/``truth``: (N, A) in {0, 1}."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    tp = (pred & truth).sum(0).astype(float)
    tn = (~pred & ~truth).sum(0).astype(float)
    fp = (pred & ~truth).sum(0).astype(float)
    fn = (~pred & truth).sum(0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        tnr = np.where(tn + fp > 0, tn / (tn + fp), np.nan)
        bacc = np.nanmean(np.stack([tpr, tnr]), axis=0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    acc = (tp + tn) / max(len(pred), 1)
    return {"accuracy": acc, "balanced_accuracy": bacc, "f1": f1}


def summary(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(mean accuracy, balanced accuracy) over attributes."""
    m = attribute_metrics(pred, truth)
    return float(m["accuracy"].mean()), float(np.nanmean(m["balanced_accuracy"]))


def majority_baseline(truth: np.ndarray, train_prevalence: np.ndarray | None) -> float:
    """Mean accuracy of predicting each attribute's most common training value."""
    prev = train_prevalence if train_prevalence is not None else truth.mean(0)
    majority = (np.asarray(prev) > 0.5).astype(np.uint8)
    return float((truth == majority[None]).mean())


def tune_thresholds(prob: np.ndarray, truth: np.ndarray,
                    grid: np.ndarray | None = None) -> np.ndarray:
    """Per-attribute threshold on P(present) that maximises balanced accuracy."""
    grid = np.linspace(0.02, 0.98, 49) if grid is None else grid
    truth = truth.astype(bool)
    pos = truth.sum(0).astype(float)
    neg = (~truth).sum(0).astype(float)
    best = np.full(prob.shape[1], 0.5)
    best_score = np.full(prob.shape[1], -1.0)
    for t in grid:
        pred = prob >= t
        tpr = np.where(pos > 0, (pred & truth).sum(0) / np.maximum(pos, 1), 1.0)
        tnr = np.where(neg > 0, (~pred & ~truth).sum(0) / np.maximum(neg, 1), 1.0)
        score = (tpr + tnr) / 2
        better = score > best_score + 1e-12
        best[better], best_score[better] = t, score[better]
    return best
