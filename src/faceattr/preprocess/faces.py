"""The one face pipeline: decode -> detect -> align -> frame.

``faceattr predict``, the Python :class:`~faceattr.Recognizer`, the web service, ``evaluate``
and ``prepare`` all turn pictures into the network's face squares through :class:`FacePipeline`,
so they cannot drift apart.

Big photos stay cheap: a JPEG is decoded reduced (``draft``: 1/2, 1/4 or 1/8 scale) to no less
than the detector's working size, faces are found on that copy, and the picture is decoded again
at a higher scale only when a face found on it is too small there to fill the network's input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError
from faceattr.preprocess.detectors import DetectedFace, Detector, create_detector, largest
from faceattr.preprocess.framing import (
    FILL,
    Framing,
    frame_face,
    get_framing,
    similarity_from_landmarks,
)
from faceattr.preprocess.image import decode_reduced, to_pil

ImageInput = str | Path | Image.Image | np.ndarray

# Faces narrower than this (px, in the full picture) are reported but get no attributes: at 20 px
# the default model is as accurate as on the full-size face, below it falls fast (16 px: -0.9
# point, 12 px: -4.4, 8 px: under the majority baseline; benchmarks/face_size.py), and detection
# is less reliable there (benchmarks/detectors.py).
MIN_FACE = 20

# Mean channel difference (0-255) under which a face square counts as greyscale: a grey picture
# gives 0 (a little more when stored as a colour JPEG), the least colourful of the 3,000 test
# crops 11.
GREY_TOLERANCE = 3.0


# Face-likeness (:func:`likeness`): the correlation of a face square's grey pixels with the mean
# face (tools/mean_face.py, 4,000 CelebA val faces). The test crops give a median of 0.45 (1%
# under -0.08), small crowd faces (WIDER) 0.09 (5% under -0.19); colour-inverted faces -0.40
# (75% under -0.23). Under LOW_LIKENESS a face is unlike a natural upright face (inverted colours,
# a drawing, an animal, a bad crop): its answers are not to be trusted.
LOW_LIKENESS = -0.2


@lru_cache(maxsize=4)
def _mean_face(size: int) -> np.ndarray:
    from importlib import resources

    path = resources.files("faceattr").joinpath("weights/mean_face.png")
    with resources.as_file(path) as p, Image.open(p) as im:
        mean = np.asarray(im.convert("L").resize((size, size), Image.Resampling.BILINEAR),
                          np.float32)
    return _normed(mean)


def _normed(a: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    return a / (float(np.linalg.norm(a)) + 1e-6)


def likeness(pixels: np.ndarray) -> float:
    """How much a face square looks like the mean face: the correlation of their grey pixels,
    from -1 to 1 (see :data:`LOW_LIKENESS`)."""
    grey = np.asarray(pixels, np.float32).mean(-1)
    return float((_normed(grey) * _mean_face(grey.shape[0])).sum())


@dataclass
class Face:
    """One face of a picture: its canonical square (``None`` when skipped) and its detection
    (``None`` when the whole picture was taken as a face crop of a framing)."""

    pixels: np.ndarray | None
    detection: DetectedFace | None = None

    @property
    def likeness(self) -> float | None:
        """The square's :func:`likeness` to the mean face (None when skipped)."""
        return None if self.pixels is None else likeness(self.pixels)

    @property
    def grey(self) -> bool:
        """The face has no colour (a black-and-white photo): its channels agree to within
        :data:`GREY_TOLERANCE` on average."""
        if self.pixels is None:
            return False
        p = self.pixels.astype(np.int16)
        picture = (p != FILL[0]).any(-1)  # leave out the border that lies outside the picture
        if picture.mean() < 0.25:
            return False
        spread = np.abs(p[..., 0] - p[..., 1]) + np.abs(p[..., 1] - p[..., 2])
        return bool(spread[picture].mean() < GREY_TOLERANCE)


@dataclass
class PictureFaces:
    """The faces of one picture, left to right, and the picture's full (upright) size."""

    width: int
    height: int
    faces: list[Face]

    @property
    def usable(self) -> list[Face]:
        """The faces that get attributes."""
        return [f for f in self.faces if f.pixels is not None]

    def squares(self) -> list[np.ndarray]:
        """The canonical squares of the usable faces, in order."""
        return [f.pixels for f in self.faces if f.pixels is not None]

    def widest(self) -> np.ndarray:
        """The square of the widest usable face (the only one, without detection)."""
        usable = self.usable
        detected = [f.detection for f in usable if f.detection is not None]
        face = usable[largest(detected)] if len(detected) == len(usable) > 1 else usable[0]
        assert face.pixels is not None  # usable
        return face.pixels


class FacePipeline:
    """Decode, detect, align and frame. Without a detector every picture is a face crop of
    ``framing``; with one, every face found is aligned by its landmarks onto the detector's
    template. ``min_face``: faces narrower (px) are reported as skipped. Thread-safe."""

    def __init__(self, size: int, detector: Detector | str | None = None,
                 framing: Framing | str | None = None, min_face: float = MIN_FACE,
                 detector_options: dict[str, Any] | None = None) -> None:
        for what, value in (("minimum face size", min_face),
                            *((f"detector option {k}", v) for k, v in
                              (detector_options or {}).items() if v is not None)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                    not math.isfinite(value):
                raise FaceAttrError(f"{what} {value!r}: must be a number")
        if min_face < 0:
            raise FaceAttrError(f"minimum face size {min_face}: must be at least 0")
        self.size = size
        self.detector = (None if detector is None
                         else create_detector(detector, **(detector_options or {})))
        self.framing = framing if isinstance(framing, Framing) else get_framing(framing)
        self.min_face = min_face

    def read(self, source: ImageInput | bytes, name: str | None = None) -> Image.Image:
        """The picture as the pipeline reads it (reduced when that loses nothing)."""
        return self._read(source, name)[0]

    def _read(self, source: ImageInput | bytes, name: str | None = None,
              long: int | None = None) -> tuple[Image.Image, float]:
        if isinstance(source, (bytes, str, Path)):
            if self.detector is None:
                return decode_reduced(source, name, short=self.framing.min_decode_side(self.size))
            return decode_reduced(source, name, long=long or self.detector.work_side or 10**9)
        return to_pil(source, name or "image"), 1.0

    def faces(self, source: ImageInput | bytes, name: str | None = None) -> PictureFaces:
        """The faces of one picture (raises :class:`FaceAttrError` when it cannot be read)."""
        if self.detector is None:
            image, scale = self._read(source, name)
            return PictureFaces(round(image.width * scale), round(image.height * scale),
                                [Face(self._framed(image))])
        image, scale = self._read(source, name)
        width, height = round(image.width * scale), round(image.height * scale)
        found = self.detector.detect(image)
        need = []  # source pixels per output pixel of each face that gets attributes
        for f in found:
            if f.width * scale < self.min_face:
                f.skipped = (f"face {int(f.width * scale)} px wide, under the minimum of "
                             f"{self.min_face:g} px")
            else:
                need.append(_pixel_scale(f.landmarks, self.size, self.detector.template))
        if need and scale > 1 and min(need) < 1 and not isinstance(source, (Image.Image,
                                                                            np.ndarray)):
            # a face too small on the reduced copy: decode again at the scale it needs
            want = max(1.0, scale * min(need))
            long_side = math.ceil(max(width, height) / want)
            image, new_scale = self._read(source, name, long=long_side)
            found = [f.scaled(scale / new_scale) for f in found]
            scale = new_scale
        faces = []
        for f in found:
            pixels = None if f.skipped else np.asarray(frame_face(
                image, self.size, landmarks=f.landmarks, template=self.detector.template))
            faces.append(Face(pixels, f.scaled(scale) if scale != 1 else f))
        return PictureFaces(width, height, faces)

    def largest_or_framed(self, source: ImageInput | bytes,
                          name: str | None = None) -> tuple[np.ndarray, bool]:
        """The square of the widest usable face, or (no face) the picture framed by
        ``framing``; returns it and whether it fell back to the framing."""
        got = self.faces(source, name)
        if got.usable:
            return got.widest(), False
        if isinstance(source, (bytes, str, Path)):
            image = decode_reduced(source, name, short=self.framing.min_decode_side(self.size))[0]
        else:
            image = to_pil(source, name or "image")
        return self._framed(image), True

    def _framed(self, image: Image.Image) -> np.ndarray:
        return np.asarray(frame_face(image, self.size, self.framing))


def _pixel_scale(landmarks: np.ndarray, size: int, template: np.ndarray) -> float:
    """Source pixels per output pixel when these landmarks are aligned onto a square of
    ``size``: under 1 means the face is enlarged (blurred) to fill the network's input."""
    m = similarity_from_landmarks(landmarks, size, template)
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


# ---- many files in worker processes (prepare, evaluate) ------------------------------------

_WORKER_PIPELINES: dict[tuple, FacePipeline] = {}


def frame_files(args: tuple) -> tuple[np.ndarray, list[str | None], list[bool]]:
    """Worker: frame ``files`` under ``root`` through one :class:`FacePipeline` per process.

    ``args``: (root, files, framing (dict), size, detector (name or None), detector options).
    With a detector, each file gives its widest face, or (no face) its dataset framing.
    Returns pixels, per-file errors and which files fell back to the framing.
    """
    root, files, framing, size, detector, options = args
    key = (tuple(sorted(framing.items())), size, detector, tuple(sorted(options.items())))
    pipe = _WORKER_PIPELINES.get(key)
    if pipe is None:
        pipe = _WORKER_PIPELINES[key] = FacePipeline(size, detector, Framing(**framing),
                                                     min_face=0, detector_options=options)
    out = np.zeros((len(files), size, size, 3), dtype=np.uint8)
    errors: list[str | None] = []
    fallback: list[bool] = []
    for i, rel in enumerate(files):
        try:
            out[i], fell = pipe.largest_or_framed(Path(root) / rel)
            errors.append(None)
            fallback.append(fell and detector is not None)
        except FaceAttrError as e:
            errors.append(str(e))
            fallback.append(False)
    return out, errors, fallback
