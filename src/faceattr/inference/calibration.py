"""Temperature scaling, as every engine applies it to a model's probabilities.

A temperature T divides an attribute's logit (log p / (1 - p)): T > 1 makes an over-confident
model less sure. It leaves the 0.5 decisions unchanged (a logit of 0 stays 0), and tuned
thresholds move with it (:func:`scale_thresholds`), so only the probabilities change. A model
file stores its temperatures (fitted on the val split) in its metadata as ``temperatures``.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def apply_temperatures(probs: np.ndarray, temperatures: np.ndarray | None) -> np.ndarray:
    """Probabilities (N, T) with each attribute's logit divided by its temperature."""
    if temperatures is None:
        return probs
    return sigmoid(logit(probs) / np.asarray(temperatures)[None]).astype(np.float32)


def scale_thresholds(thresholds: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """The thresholds that make the same decisions on temperature-scaled probabilities."""
    return sigmoid(logit(thresholds) / np.asarray(temperatures))
