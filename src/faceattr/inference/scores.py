"""What the network says about a batch of faces: attribute probabilities, and (models with those
tasks) age in years with its uncertainty and the expression probabilities."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

Z80 = 1.2816  # a normal distribution holds 80% of its mass within 1.2816 SD of its mean


@dataclass
class FaceScores:
    """One face's row of :class:`Scores`."""

    attributes: np.ndarray  # (A,)
    age: float | None = None
    age_sd: float | None = None
    expressions: np.ndarray | None = None  # (E,)

    @property
    def age_range(self) -> tuple[float, float] | None:
        """The range that holds the true age about 80% of the time (fitted on the val split)."""
        if self.age is None or self.age_sd is None:
            return None
        return (max(0.0, self.age - Z80 * self.age_sd), self.age + Z80 * self.age_sd)


@dataclass
class Scores:
    """N faces: ``attributes`` (N, A) P(present); ``age``/``age_sd`` (N,) years;
    ``expressions`` (N, E) probabilities (None where the model has no such task)."""

    attributes: np.ndarray
    age: np.ndarray | None = None
    age_sd: np.ndarray | None = None
    expressions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.attributes)

    def __getitem__(self, rows: slice) -> Scores:
        a, age, sd, ex = (None if v is None else v[rows] for v in self._fields())
        assert a is not None
        return Scores(a, age, sd, ex)

    def __iter__(self) -> Iterator[FaceScores]:
        for i in range(len(self)):
            yield FaceScores(self.attributes[i],
                             None if self.age is None else float(self.age[i]),
                             None if self.age_sd is None else float(self.age_sd[i]),
                             None if self.expressions is None else self.expressions[i])

    def _fields(self) -> tuple[np.ndarray | None, ...]:
        return self.attributes, self.age, self.age_sd, self.expressions

    @classmethod
    def concat(cls, parts: Sequence[Scores], attributes: int = 0) -> Scores:
        if not parts:
            return cls(np.zeros((0, attributes), np.float32))
        cols = list(zip(*(p._fields() for p in parts)))
        a, age, sd, ex = (None if c[0] is None else np.concatenate(c) for c in cols)
        assert a is not None
        return cls(a, age, sd, ex)


def median_age(p: np.ndarray) -> np.ndarray:
    """The median of P(age = 0, 1, ... years) (N, bins), bin k spanning k +- 0.5 years: the
    answer with the least expected absolute error (on UTKFace val 0.06-0.1 year under the
    distribution's mean)."""
    cdf = np.cumsum(p, axis=1)
    k = np.minimum((cdf < 0.5).sum(axis=1), p.shape[1] - 1)
    rows = np.arange(len(k))
    below = np.where(k > 0, cdf[rows, np.maximum(k - 1, 0)], 0.0)
    return k - 0.5 + (0.5 - below) / np.maximum(p[rows, k], 1e-12)


def age_from_distribution(p: np.ndarray, sd_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Age (years: the median) and calibrated SD from P(age = 0, 1, ... years), (N, bins)."""
    grid = np.arange(p.shape[1], dtype=np.float64)
    p = np.asarray(p, np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    mean = p @ grid
    sd = np.sqrt(np.maximum((p * (grid[None] - mean[:, None]) ** 2).sum(1), 0.0)) * sd_scale
    return np.maximum(median_age(p), 0.0).astype(np.float32), sd.astype(np.float32)


def temper(p: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) from softmax(logits): p^(1/T), renormalised."""
    if temperature == 1.0:
        return p
    logp = np.log(np.clip(np.asarray(p, np.float64), 1e-12, 1.0)) / temperature
    e = np.exp(logp - logp.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
