"""dlib's HOG frontal face detector with its 5-point landmark model (the ``faceattr[hog]``
extra). A 2005-era method: upright, frontal faces of at least ~80 px only, so the picture is
enlarged when small and searched again rotated by ±30 degrees when nothing is found upright.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError
from faceattr.preprocess.detectors.base import DetectedFace, Detector, nms

LANDMARK_MODEL = "weights/shape_predictor_5_face_landmarks.dat"  # bundled (CC0), 9 MB
# dlib's own HOG face detector, saved to a file: loads in ~1 ms instead of the ~0.4 s that
# dlib.get_frontal_face_detector() takes to build it (weights/README.md says how it was made).
HOG_MODEL = "weights/dlib_frontal_face_detector.svm"

# Mean position of dlib's 5 landmarks (right eye outer, right eye inner, left eye outer, left eye
# inner, nose bottom; "right" = the person's right = image left is index 2..3) in the canonical
# square, as fractions of its side. Measured by tools/calibrate_landmarks.py on 283 aligned
# CelebA faces.
DLIB5_TEMPLATE = np.array(
    [[0.6655, 0.4464], [0.5687, 0.4517], [0.3281, 0.4455], [0.4240, 0.4513], [0.4929, 0.6345]])

MAX_WORK_PIXELS = 4_000_000  # the enlarged and rotated copies together stay under this


def _model_file(name: str) -> Path:
    return Path(str(resources.files("faceattr").joinpath(name)))


class Hog(Detector):
    """dlib HOG + 5 landmarks. ``score`` is HOG's SVM margin (0: dlib's own default cut).
    ``rotated``: ``"fallback"`` searches ±30 degrees only when the upright search finds nothing
    (5x faster on ordinary photos); ``"always"`` searches every angle."""

    name = "hog"
    template = DLIB5_TEMPLATE
    work_side = 1600

    def __init__(self, score: float = 0.0, nms: float = 0.3, min_side: int = 160,
                 angles: tuple[float, ...] = (0.0, -30.0, 30.0),
                 rotated: str = "fallback") -> None:
        super().__init__(score, nms)
        try:
            import dlib
        except ImportError:
            raise FaceAttrError("the hog detector needs dlib: pip install 'faceattr[hog]'") \
                from None
        if rotated not in ("fallback", "always"):
            raise FaceAttrError(f"rotated={rotated!r}: use 'fallback' or 'always'")
        if not _model_file(LANDMARK_MODEL).is_file():
            raise FaceAttrError(f"dlib landmark model missing: {_model_file(LANDMARK_MODEL)}")
        self._dlib = dlib
        self.angles, self.min_side, self.rotated = angles, min_side, rotated
        self._local = threading.local()  # dlib's models are not thread-safe: one per thread

    def _models(self):
        models = getattr(self._local, "models", None)
        if models is None:
            hog = _model_file(HOG_MODEL)
            detector = (self._dlib.fhog_object_detector(str(hog)) if hog.is_file()
                        else self._dlib.get_frontal_face_detector())
            models = self._local.models = (
                detector, self._dlib.shape_predictor(str(_model_file(LANDMARK_MODEL))))
        return models

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        scale = 1.0
        if min(image.size) < self.min_side:  # small pictures: enlarge so HOG sees the face
            scale = self.min_side / min(image.size)
        # bounded work: the enlarged copy, rotated with expand, stays under MAX_WORK_PIXELS
        diag = (image.width ** 2 + image.height ** 2) * scale * scale
        if diag > MAX_WORK_PIXELS:
            scale *= (MAX_WORK_PIXELS / diag) ** 0.5
        if scale != 1.0:
            image = image.resize((max(1, round(image.width * scale)),
                                  max(1, round(image.height * scale))),
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
            rects, scores, _ = detector.run(arr, 0, self.score)
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
        if faces:  # non-maximum suppression across angles
            keep = nms(np.array([f.box for f in faces]), np.array([f.score for f in faces]),
                       self.nms, contained=0.8)
            faces = [faces[i] for i in keep]
        faces.sort(key=lambda f: (f.box[0], f.box[1]))
        return faces
