"""The Python API: ``Recognizer`` turns face images into typed attribute predictions.

>>> from faceattr import Recognizer
>>> rec = Recognizer()                      # the bundled default model
>>> p = rec.predict("examples/face.jpg")    # a path, a PIL image or an HxWx3 uint8 array
>>> p.decisions["Smiling"], round(p.probabilities["Smiling"], 2)
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError
from faceattr.inference.backends import load_engine
from faceattr.preprocess.detect import DLIB5_TEMPLATE, DetectedFace, largest
from faceattr.preprocess.framing import Framing, frame_face, get_framing
from faceattr.preprocess.image import decode, to_pil

ImageInput = str | Path | Image.Image | np.ndarray


@dataclass
class Prediction:
    """Attributes of one face: P(present) and the thresholded decision for each attribute."""

    source: str
    probabilities: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, bool] = field(default_factory=dict)
    error: str | None = None  # set when the input could not be read (or held no face)
    face: DetectedFace | None = None  # with detection: where the face was found
    face_index: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def present(self) -> list[str]:
        """The attributes decided present, most probable first."""
        return sorted((a for a, d in self.decisions.items() if d),
                      key=lambda a: -self.probabilities[a])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.source}
        if self.face is not None:
            out["face"] = self.face_index
            out.update(self.face.to_dict())
        if self.error is not None:
            out["error"] = self.error
        else:
            out["probabilities"] = dict(self.probabilities)
            out["decisions"] = dict(self.decisions)
        return out


def _describe(image: ImageInput, i: int) -> str:
    return str(image) if isinstance(image, (str, Path)) else f"<{type(image).__name__} #{i}>"


class Recognizer:
    """Recognise face attributes with a trained faceattr model.

    ``framing`` says how input images are framed (default ``crop``: face crops such as the
    CelebA test crops); ``threshold`` is 0.5 (the softmax argmax, default), ``"tuned"``
    (per attribute, tuned for balanced accuracy and stored in the model) or any number;
    ``mirror`` averages each face with its mirror image. ``model`` is a bundled model's name
    (``"fast"``, the default) or a file; ``backend="auto"`` runs
    bundled models and ``.onnx`` files with onnxruntime (torch is never imported) and
    ``.safetensors`` files with PyTorch. ``detect`` (default: when the detector is installed,
    as for ``faceattr predict`` and the service) finds every
    face in a photo and aligns it by its landmarks: then each face is one :class:`Prediction`
    (left to right), and a photo without a face gives one with ``error`` set. ``detect=False``
    takes every input as a face crop of ``framing``.
    """

    def __init__(self, model: str | Path | None = None, *, framing: str | None = None,
                 threshold: str | float = 0.5, mirror: bool = False,
                 threads: int | None = None, backend: str = "auto",
                 detect: bool | None = None) -> None:
        self.engine = load_engine(model, backend, threads=threads)
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self.detector = None
        if detect is None:  # the one default of CLI, API and service: detect when installed
            from faceattr.preprocess.detect import detector_available

            detect = detector_available()
        if detect:
            from faceattr.preprocess.detect import FaceDetector

            self.detector = FaceDetector()
        self.framing: Framing = get_framing(framing)
        self.thresholds = self.engine.thresholds(str(threshold))
        self.mirror = mirror

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Recognizer:
        """A recognizer for the model file at ``path``."""
        return cls(path, **kwargs)

    @property
    def attributes(self) -> list[str]:
        return self.engine.attributes

    @property
    def reduce_to(self) -> int | None:
        """Without detection a JPEG is decoded at reduced scale (``draft``) as far as its face
        square stays at least the network's input size; with detection, in full."""
        if self.detector is not None:
            return None
        return self.framing.min_decode_side(self.engine.input_size)

    def read(self, image: ImageInput | bytes, name: str | None = None) -> Image.Image:
        """Decode an input as every surface does (the service passes uploaded bytes)."""
        if isinstance(image, bytes):
            return decode(image, name, reduce_to=self.reduce_to)
        return to_pil(image, reduce_to=self.reduce_to)

    def frame(self, image: ImageInput) -> np.ndarray:
        """The canonical face square the model sees, as uint8 (S, S, 3)."""
        return np.asarray(frame_face(self.read(image), self.engine.input_size, self.framing))

    def predict(self, image: ImageInput) -> Prediction:
        """Attributes of one image (with detection: of its largest face); raises
        :class:`FaceAttrError` if it cannot be read or holds no face."""
        preds = self.predict_batch([image])
        if preds[0].error is not None:
            raise FaceAttrError(preds[0].error)
        if len(preds) == 1:
            return preds[0]
        return preds[largest([p.face for p in preds])]

    def predict_faces(self, image: ImageInput) -> list[Prediction]:
        """One prediction per face found in ``image`` (needs ``detect=True``), left to right."""
        preds = self.predict_batch([image])
        if len(preds) == 1 and preds[0].error is not None:
            if preds[0].error.endswith("no face found"):
                return []
            raise FaceAttrError(preds[0].error)
        return preds

    def predict_batch(self, images: Sequence[ImageInput], batch_size: int = 64,
                      workers: int | None = None) -> list[Prediction]:
        """Attributes of many images. Unreadable ones come back with ``error`` set."""
        return list(self.iter_predict(images, batch_size, workers))

    def iter_predict(self, images: Iterable[ImageInput], batch_size: int = 64,
                     workers: int | None = None) -> Iterator[Prediction]:
        """Like :meth:`predict_batch`, in input order, as results come.

        A pipeline: ``workers`` threads (default: one per core) decode, detect and frame up to
        two batches ahead while the network runs on the batch before (Pillow, dlib and ONNX
        Runtime all release the GIL while they work).
        """
        workers = workers or max(2, os.cpu_count() or 1)
        ahead = 2 * batch_size
        source = enumerate(images)
        pending: deque = deque()
        batch: list[tuple[int, ImageInput, list | str]] = []

        def frame(image: ImageInput) -> list | str:
            try:
                return self.faces(image)
            except FaceAttrError as e:
                return str(e)

        pool = self._pool(workers)

        def top_up() -> None:
            while len(pending) < ahead:
                item = next(source, None)
                if item is None:
                    return
                pending.append((*item, pool.submit(frame, item[1])))

        top_up()
        while pending:
            i, image, future = pending.popleft()
            batch.append((i, image, future.result()))
            top_up()
            if len(batch) == batch_size or not pending:
                yield from self._emit(batch)
                batch = []

    def _pool(self, workers: int) -> ThreadPoolExecutor:
        """A thread pool kept for the Recognizer's life: its threads keep their detector
        models (loading one takes ~0.1 s), so repeated calls do not pay for it again."""
        if workers not in self._pools:
            self._pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="frame")
        return self._pools[workers]

    def faces(self, image: ImageInput) -> list[tuple[np.ndarray, DetectedFace | None]]:
        """The aligned face squares of one image (with detection), or its framed crop."""
        pil = self.read(image)
        if self.detector is None:
            return [(self.frame(pil), None)]
        return [(np.asarray(frame_face(pil, self.engine.input_size, landmarks=f.landmarks,
                                       template=DLIB5_TEMPLATE)), f)
                for f in self.detector.detect(pil)]

    def _emit(self, batch: list[tuple[int, ImageInput, list | str]]) -> Iterator[Prediction]:
        """Run the network once over the faces of ``batch``; one prediction per face."""
        framed = [f for _, _, f in batch]
        good = [face for f in framed if not isinstance(f, str) for face, _ in f]
        probs = iter(self.engine.probabilities(np.stack(good), mirror=self.mirror)
                     if good else [])
        for i, image, f in batch:
            name = _describe(image, i)
            if isinstance(f, str):
                yield Prediction(name, error=f)
                continue
            if not f:
                yield Prediction(name, error=f"{name}: no face found")
                continue
            for k, (_, det) in enumerate(f):
                p = next(probs)
                yield Prediction(
                    name,
                    {a: float(v) for a, v in zip(self.attributes, p)},
                    {a: bool(v >= t) for a, v, t in zip(self.attributes, p, self.thresholds)},
                    face=det, face_index=k,
                )
