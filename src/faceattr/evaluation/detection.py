"""Scoring a face detector against ground-truth boxes, the way WIDER FACE is usually scored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceattr.preprocess.detectors.base import iou_matrix


@dataclass
class DetectionScore:
    ap: float  # average precision (101-point interpolated)
    recall: float  # share of the counted faces found with a score over the threshold
    precision: float  # share of counted detections over the threshold that are faces
    faces: int  # ground-truth faces counted (at least the minimum width)


def score_detections(truth: list[np.ndarray], found: list[tuple[np.ndarray, np.ndarray]],
                     min_width: float = 0.0, iou: float = 0.5,
                     threshold: float = 0.0) -> DetectionScore:
    """Average precision and recall of detections over several pictures.

    ``truth``: one (N, 4) array of boxes (left, top, right, bottom) per picture; ``found``: one
    (boxes (M, 4), scores (M,)) pair per picture. Detections are taken best score first; one is
    a hit when its IoU with a face not yet matched is at least ``iou``. Faces narrower than
    ``min_width`` are left out, and a detection that matches only such a face is ignored.
    ``recall``/``precision`` count the detections with a score of at least ``threshold``.
    """
    rows: list[tuple[float, int, int]] = []  # (score, picture, index)
    for p, (_, scores) in enumerate(found):
        rows.extend((float(s), p, i) for i, s in enumerate(scores))
    rows.sort(key=lambda r: -r[0])
    valid = [(t[:, 2] - t[:, 0]) >= min_width for t in truth]
    matched = [np.zeros(len(t), bool) for t in truth]
    n_faces = int(sum(v.sum() for v in valid))
    hits: list[bool] = []  # per counted detection: hit?, and its score
    kept: list[float] = []
    for s, p, i in rows:
        t = truth[p]
        if not len(t):
            hits.append(False)
            kept.append(s)
            continue
        o = iou_matrix(found[p][0][i:i + 1].astype(np.float64), t.astype(np.float64))[0]
        cand = np.where(valid[p] & ~matched[p], o, -1.0)
        j = int(np.argmax(cand))
        if cand[j] >= iou:
            matched[p][j] = True
            hits.append(True)
        elif (o[~valid[p]] >= iou).any():
            continue  # a face too small to count: neither hit nor miss
        else:
            hits.append(False)
        kept.append(s)
    h = np.asarray(hits, bool)
    tp = np.cumsum(h)
    precision = tp / np.arange(1, len(h) + 1) if len(h) else np.zeros(0)
    recall = tp / max(n_faces, 1)
    # 101-point interpolation: the best precision at each recall level or beyond
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(h) else precision
    ap = 0.0
    for r in np.linspace(0, 1, 101):
        k = np.searchsorted(recall, r, side="left")
        ap += envelope[k] if k < len(envelope) else 0.0
    over = np.asarray(kept) >= threshold
    n_over = int(over.sum())
    found_faces = int(h[over].sum()) if n_over else 0
    return DetectionScore(ap / 101, found_faces / max(n_faces, 1),
                          found_faces / n_over if n_over else 1.0, n_faces)


def read_wider_labels(path) -> list[tuple[str, np.ndarray]]:
    """``labels.txt`` of the shared WIDER FACE subset: ``# NAME ...`` lines, then one
    ``x0 y0 x1 y1`` line per face; returns (name, boxes) per picture."""
    out: list[tuple[str, list]] = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            out.append((line[1:].split()[0], []))
        else:
            out[-1][1].append([float(v) for v in line.split()[:4]])
    return [(n, np.asarray(b, np.float64).reshape(-1, 4)) for n, b in out]
