"""Calibration: expected calibration error, reliability, and fitting one temperature per
attribute (applied by every engine: ``inference/calibration.py``)."""

from __future__ import annotations

import numpy as np

from faceattr.inference.calibration import EPS, logit, sigmoid


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> np.ndarray:
    """Expected calibration error per attribute: over equal-width bins of P(present), the
    share-weighted gap between the mean predicted probability and the observed frequency."""
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels, np.float64)
    which = np.minimum((probs * bins).astype(int), bins - 1)
    out = np.zeros(probs.shape[1])
    for j in range(probs.shape[1]):
        conf = np.bincount(which[:, j], probs[:, j], minlength=bins)
        freq = np.bincount(which[:, j], labels[:, j], minlength=bins)
        out[j] = np.abs(conf - freq).sum() / max(len(probs), 1)
    return out


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 15):
    """Pooled over attributes: per bin, the mean predicted probability, the observed frequency
    and the count (empty bins left out)."""
    p, y = np.asarray(probs, np.float64).ravel(), np.asarray(labels, np.float64).ravel()
    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    keep = count > 0
    conf = np.bincount(which, p, minlength=bins)[keep] / count[keep]
    freq = np.bincount(which, y, minlength=bins)[keep] / count[keep]
    return conf, freq, count[keep]


def fit_temperatures(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One temperature per attribute minimising the negative log-likelihood of ``labels``
    (golden-section search over log T in [log 0.25, log 8])."""
    z, y = logit(probs), np.asarray(labels, np.float64)

    def nll(j: int, t: float) -> float:
        q = np.clip(sigmoid(z[:, j] / t), EPS, 1 - EPS)
        return float(-(y[:, j] * np.log(q) + (1 - y[:, j]) * np.log(1 - q)).mean())

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
