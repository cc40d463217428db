"""Face detection with landmarks, for arbitrary photos (part of the base install).

The detector is dlib's HOG frontal face detector (in the ``dlib-bin`` wheel) with its 5-point
landmark model (CC0, bundled in ``faceattr/weights``; nothing is downloaded). HOG finds upright
faces only, so the photo is also searched rotated by ±30 degrees and the detections are merged;
the landmarks then give the in-plane rotation that the alignment undoes.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError

# Mean position of dlib's 5 landmarks (right eye outer, right eye inner, left eye outer, left eye
# inner, nose bottom; "right" = the person's right = image left is index 2..3) in the canonical
# square, as fractions of its side. Measured by tools/calibrate_landmarks.py on 283 aligned
# CelebA faces.
DLIB5_TEMPLATE = np.array(
    [[0.6655, 0.4464], [0.5687, 0.4517], [0.3281, 0.4455], [0.4240, 0.4513], [0.4929, 0.6345]])


@dataclass
class DetectedFace:
    """One face: its box (left, top, right, bottom), 5 landmarks (x, y) and detector score."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float
    angle: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box],
                "landmarks": np.round(self.landmarks, 1).tolist(), "score": round(self.score, 3)}


LANDMARK_MODEL = "weights/shape_predictor_5_face_landmarks.dat"  # bundled (CC0), 9 MB
# dlib's own HOG face detector, saved to a file: loads in ~1 ms instead of the ~0.4 s that
# dlib.get_frontal_face_detector() takes to build it (weights/README.md says how it was made).
HOG_MODEL = "weights/dlib_frontal_face_detector.svm"


def _model_file(name: str = LANDMARK_MODEL) -> Path:
    return Path(str(resources.files("faceattr").joinpath(name)))


def detector_available() -> bool:
    """dlib (a base dependency) importable and the landmark model in place."""
    return importlib.util.find_spec("dlib") is not None and _model_file().is_file()


def _iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def largest(faces: list[DetectedFace]) -> int:
    """Index of the widest face."""
    return max(range(len(faces)), key=lambda i: faces[i].box[2] - faces[i].box[0])


class FaceDetector:
    """dlib HOG detector + 5-point landmarks, searched at several in-plane angles."""

    name = "dlib-hog"

    def __init__(self, angles: tuple[float, ...] = (0.0, -30.0, 30.0), upsample: int = 0,
                 min_side: int = 160, rotated: str = "fallback") -> None:
        """``rotated``: ``"fallback"`` searches the rotated angles only when the upright search
        finds no face (5x faster on ordinary photos); ``"always"`` searches every angle."""
        try:
            import dlib
        except ImportError:
            raise FaceAttrError("face detection needs dlib: pip install dlib-bin") from None
        if rotated not in ("fallback", "always"):
            raise FaceAttrError(f"rotated={rotated!r}: use 'fallback' or 'always'")
        self._dlib = dlib
        self.angles, self.upsample, self.min_side = angles, upsample, min_side
        self.rotated = rotated
        self._local = threading.local()  # dlib's models are not thread-safe: one per thread
        self._models()

    def _models(self):
        models = getattr(self._local, "models", None)
        if models is None:
            hog = _model_file(HOG_MODEL)
            detector = (self._dlib.fhog_object_detector(str(hog)) if hog.is_file()
                        else self._dlib.get_frontal_face_detector())
            models = self._local.models = (detector, self._dlib.shape_predictor(str(_model_file())))
        return models

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """All faces in ``image`` (RGB), left to right. Safe to call from several threads."""
        return self._detect(image)

    def _detect(self, image: Image.Image) -> list[DetectedFace]:
        scale = 1.0
        if min(image.size) < self.min_side:  # small pictures: enlarge so HOG sees the face
            scale = self.min_side / min(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)),
                                 Image.Resampling.BICUBIC)
        faces: list[DetectedFace] = []
        cx, cy = image.width / 2, image.height / 2
        detector, shape_predictor = self._models()
        for k, angle in enumerate(self.angles):
            if k > 0 and faces and self.rotated == "fallback":
                break
            rotated = image if angle == 0 else image.rotate(angle, Image.Resampling.BILINEAR,
                                                            expand=True)
            arr = np.asarray(rotated)
            rects, scores, _ = detector.run(arr, self.upsample, 0.0)
            rcx, rcy = rotated.width / 2, rotated.height / 2
            a = np.deg2rad(angle)
            # PIL rotates counter-clockwise on screen; map rotated coords back to the original.
            back = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            for r, s in zip(rects, scores):
                shape = shape_predictor(arr, r)
                pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], float)
                corners = np.array([[r.left(), r.top()], [r.right(), r.top()],
                                    [r.right(), r.bottom()], [r.left(), r.bottom()]], float)
                pts = (pts - [rcx, rcy]) @ back.T + [cx, cy]
                corners = (corners - [rcx, rcy]) @ back.T + [cx, cy]
                box = (*corners.min(0), *corners.max(0))
                faces.append(DetectedFace(tuple(v / scale for v in box), pts / scale,
                                          float(s), angle))
        faces.sort(key=lambda f: -f.score)
        kept: list[DetectedFace] = []
        for f in faces:  # non-maximum suppression across angles
            if all(_iou(f.box, k.box) < 0.3 for k in kept):
                kept.append(f)
        kept.sort(key=lambda f: (f.box[0], f.box[1]))  # a stable order: left to right
        return kept
