"""What every face detector is: the :class:`Detector` interface and the faces it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from PIL import Image


@dataclass
class DetectedFace:
    """One face: its box (left, top, right, bottom), 5 landmarks (x, y) and detector score.

    ``skipped`` says why the face gets no attributes (it is smaller than the minimum face size);
    such a face is still reported, with its box.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float
    angle: float = 0.0
    skipped: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def turned(self) -> int:
        """How far the face is turned in the picture, counter-clockwise in degrees (0: upright;
        YuNet finds 90, 180 and 270, and aligns the face upright)."""
        return round(self.angle) % 360

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    def scaled(self, factor: float) -> DetectedFace:
        """The same face in a picture ``factor`` times larger."""
        x0, y0, x1, y1 = self.box
        return DetectedFace((x0 * factor, y0 * factor, x1 * factor, y1 * factor),
                            self.landmarks * factor,
                            self.score, self.angle, self.skipped, dict(self.extra))

    def to_dict(self) -> dict:
        out = {"box": [round(float(v), 1) for v in self.box],
               "landmarks": np.round(self.landmarks, 1).tolist(), "score": round(self.score, 3)}
        if self.skipped:
            out["skipped"] = self.skipped
        return out


class Detector(ABC):
    """A face detector with 5 landmarks. Subclasses set :attr:`name` (its registry name) and
    :attr:`template` (where its landmarks fall in the canonical face square, measured by
    ``tools/calibrate_landmarks.py``), and implement :meth:`detect`. ``detect`` must be safe to
    call from several threads at once."""

    name: ClassVar[str]
    template: ClassVar[np.ndarray]  # (5, 2), fractions of the canonical square's side
    #: the longest side a picture needs for detection: a bigger photo may be decoded reduced
    #: (JPEG draft) to no less than this before ``detect`` (None: full size)
    work_side: int | None = None

    def __init__(self, score: float, nms: float = 0.3) -> None:
        self.score, self.nms = score, nms

    @abstractmethod
    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Every face in the RGB ``image`` with its score over :attr:`score`, left to right."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(score={self.score})"


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4)."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, contained: float = 0.0) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best first.

    A box is dropped when it overlaps a better one by IoU over ``iou``, or (``contained`` > 0)
    when that share of its own area lies inside a better box: a mouth or an ear found as a
    second, smaller face inside a face.
    """
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        if not rest.size:
            break
        over = iou_matrix(boxes[i:i + 1], boxes[rest])[0]
        drop = over > iou
        if contained > 0:
            x0 = np.maximum(boxes[i, 0], boxes[rest, 0])
            y0 = np.maximum(boxes[i, 1], boxes[rest, 1])
            x1 = np.minimum(boxes[i, 2], boxes[rest, 2])
            y1 = np.minimum(boxes[i, 3], boxes[rest, 3])
            inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
            drop |= inter >= contained * np.maximum(area[rest], 1e-12)
        order = rest[~drop]
    return np.asarray(keep, dtype=np.int64)


def largest(faces: list[DetectedFace]) -> int:
    """Index of the widest face."""
    return max(range(len(faces)), key=lambda i: faces[i].width)
