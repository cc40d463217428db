"""Calibration: expected calibration error, reliability, and fitting one temperature per
attribute (applied by every engine: ``inference/calibration.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceattr.evaluation.metrics import known, tune_thresholds
from faceattr.inference.calibration import EPS, apply_temperatures, logit, scale_thresholds, sigmoid


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> np.ndarray:
    """Expected calibration error per attribute: over equal-width bins of P(present), the
    share-weighted gap between the mean predicted probability and the observed frequency."""
    k = known(labels)
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels, np.float64)
    which = np.minimum((probs * bins).astype(int), bins - 1)
    out = np.zeros(probs.shape[1])
    for j in range(probs.shape[1]):
        rows = k[:, j]
        conf = np.bincount(which[rows, j], probs[rows, j], minlength=bins)
        freq = np.bincount(which[rows, j], labels[rows, j], minlength=bins)
        out[j] = np.abs(conf - freq).sum() / max(int(rows.sum()), 1)
    return out


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 15):
    """Pooled over attributes: per bin, the mean predicted probability, the observed frequency
    and the count (empty bins left out)."""
    k = known(labels).ravel()
    p = np.asarray(probs, np.float64).ravel()[k]
    y = np.asarray(labels, np.float64).ravel()[k]
    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    keep = count > 0
    conf = np.bincount(which, p, minlength=bins)[keep] / count[keep]
    freq = np.bincount(which, y, minlength=bins)[keep] / count[keep]
    return conf, freq, count[keep]


def fit_temperatures(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One temperature per attribute minimising the negative log-likelihood of ``labels``
    (golden-section search over log T in [log 0.25, log 8])."""
    z, y, k = logit(probs), np.asarray(labels, np.float64), known(labels)

    def nll(j: int, t: float) -> float:
        rows = k[:, j]
        q = np.clip(sigmoid(z[rows, j] / t), EPS, 1 - EPS)
        yj = y[rows, j]
        return float(-(yj * np.log(q) + (1 - yj) * np.log(1 - q)).mean()) if rows.any() else 0.0

    out = np.ones(z.shape[1])
    g = (np.sqrt(5) - 1) / 2
    for j in range(z.shape[1]):
        a, b = np.log(0.25), np.log(8.0)
        c, d = b - g * (b - a), a + g * (b - a)
        fc, fd = nll(j, np.exp(c)), nll(j, np.exp(d))
        for _ in range(40):
            if fc < fd:
                b, d, fd = d, c, fc
                c = b - g * (b - a)
                fc = nll(j, np.exp(c))
            else:
                a, c, fc = c, d, fd
                d = a + g * (b - a)
                fd = nll(j, np.exp(d))
        out[j] = float(np.exp((a + b) / 2))
    return out


Z80 = 1.2816  # a normal distribution holds 80% of its mass within 1.2816 SD of its mean


def fit_age_sd_scale(pred: np.ndarray, sd: np.ndarray, true: np.ndarray) -> float:
    """The factor k for which ``|true - pred| <= Z80 * k * sd`` holds for 80% of the rows."""
    ratio = np.abs(np.asarray(true, np.float64) - pred) / np.maximum(sd, 1e-6)
    return float(np.quantile(ratio, 0.8) / Z80) if len(ratio) else 1.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_softmax_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """One temperature for a softmax: the lowest cross-entropy against ``targets`` (rows of
    class probabilities or vote shares) on a log grid from 0.25 to 4."""
    q = np.asarray(targets, np.float64)
    q = q / np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 81))
    nll = [-(q * np.log(np.maximum(softmax(logits, t), 1e-12))).sum(1).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def _binned_gap(conf: np.ndarray, observed: np.ndarray, bins: int) -> float:
    """Over equal-width bins of ``conf``, the share-weighted gap between the mean confidence
    and the mean of ``observed`` (what the confidence should equal)."""
    which = np.minimum((conf * bins).astype(int), bins - 1)
    c = np.bincount(which, conf, minlength=bins)
    a = np.bincount(which, observed, minlength=bins)
    return float(np.abs(c - a).sum() / max(len(conf), 1))


def multiclass_ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top class: over equal-width bins of its probability,
    the share-weighted gap between confidence and accuracy."""
    probs = np.asarray(probs, np.float64)
    right = (probs.argmax(axis=1) == np.asarray(labels)).astype(np.float64)
    return _binned_gap(probs.max(axis=1), right, bins)


def vote_share_ece(probs: np.ndarray, votes: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top class against the annotators' vote share for it
    (FER+'s ten votes): how well a probability reads as "this share of people would say so".
    With one vote per face it is :func:`multiclass_ece` against that vote. Rows without votes
    are left out."""
    probs, votes = np.asarray(probs, np.float64), np.asarray(votes, np.float64)
    has = votes.sum(axis=1) > 0
    probs, votes = probs[has], votes[has]
    share = votes[np.arange(len(votes)), probs.argmax(axis=1)] / votes.sum(axis=1)
    return _binned_gap(probs.max(axis=1), share, bins)


GREY_DROP = 5.0  # points of val accuracy lost on grey faces that make an attribute unreliable


def grey_unreliable(attributes: list[str], probs: np.ndarray, grey: np.ndarray,
                    labels: np.ndarray) -> list[str]:
    """The attributes whose 0.5 decisions lose more than :data:`GREY_DROP` points of accuracy
    when the faces are turned grey."""
    from faceattr.evaluation.metrics import attribute_metrics

    drop = (attribute_metrics(probs >= 0.5, labels)["accuracy"] -
            attribute_metrics(grey >= 0.5, labels)["accuracy"]) * 100
    return [a for a, d in zip(attributes, drop) if d > GREY_DROP]


def fit_calibration(attributes: list[str], probs: np.ndarray, labels: np.ndarray,
                    grey: np.ndarray | None = None) -> dict[str, Any]:
    """Everything a model file keeps from the val split, fitted in this one place: per-attribute
    temperatures, the thresholds tuned for balanced accuracy (moved with the temperatures, so
    the decisions stay), the grey-unreliable attributes (when ``grey``, the probabilities of the
    same faces turned grey, is given) and the val ECE before and after."""
    if not len(labels):
        n = len(attributes)
        return {"thresholds": [0.5] * n, "temperatures": [1.0] * n}
    temps = fit_temperatures(probs, labels)
    thresholds = scale_thresholds(tune_thresholds(probs, labels), temps)
    out: dict[str, Any] = {
        "thresholds": [float(t) for t in thresholds],
        "temperatures": [round(float(t), 5) for t in temps],
        "calibration": {"val_images": len(labels), "val_ece_before": float(ece(probs, labels)
                                                                            .mean()),
                        "val_ece_after": float(ece(apply_temperatures(probs, temps), labels)
                                               .mean())}}
    if grey is not None:
        out["grey_unreliable"] = grey_unreliable(attributes, probs, grey, labels)
    return out
