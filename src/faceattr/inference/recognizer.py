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
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError
from faceattr.inference.arguments import check_many
from faceattr.inference.backends import load_engine
from faceattr.inference.scores import FaceScores
from faceattr.preprocess.detectors import DEFAULT_DETECTOR, Detector, largest
from faceattr.preprocess.faces import MIN_FACE, FacePipeline, ImageInput, PictureFaces
from faceattr.preprocess.framing import Framing
from faceattr.results import Prediction, Result, VideoPlace

__all__ = ["Prediction", "Recognizer", "Result", "VideoPlace"]


def _describe(image: ImageInput, i: int) -> str:
    return str(image) if isinstance(image, (str, Path)) else f"<{type(image).__name__} #{i}>"


class Recognizer:
    """Recognise face attributes with a trained faceattr model.

    ``framing`` says how input images are framed (default ``crop``: face crops such as the
    CelebA test crops); ``threshold`` is 0.5 (the softmax argmax, default), ``"tuned"``
    (per attribute, tuned for balanced accuracy and stored in the model) or any number;
    ``mirror`` averages each face with its mirror image. ``model`` is a bundled model's name
    (``"accurate"``, the default, or ``"fast"``) or a file; ``backend="auto"`` runs
    bundled models and ``.onnx`` files with onnxruntime (torch is never imported) and
    ``.safetensors`` files with PyTorch. With ``detect`` (the default, as for
    ``faceattr predict`` and the service) every face of a photo is found by ``detector``
    (``"yunet"``, the default, or ``"hog"``, or a :class:`Detector`) and aligned by its
    landmarks: each face is one :class:`Prediction` (left to right), a face narrower than
    ``min_face`` pixels is reported with ``skipped`` set and no attributes, and a photo without a
    face gives one prediction with ``error`` set. ``detect=False`` takes every input as a face
    crop of ``framing``. ``detector_score``: the detector's score threshold, ``detect_size``:
    the longest side a picture is scanned at (the detector's defaults when None).
    """

    def __init__(self, model: str | Path | None = None, *, framing: str | None = None,
                 threshold: str | float = 0.5, mirror: bool = False,
                 threads: int | None = None, backend: str = "auto",
                 detect: bool | None = None, detector: str | Detector = DEFAULT_DETECTOR,
                 min_face: float = MIN_FACE, detector_score: float | None = None,
                 detect_size: int | None = None, threshold_name: str = "threshold") -> None:
        self.engine = load_engine(model, backend, threads=threads)
        self._pools: dict[int, ThreadPoolExecutor] = {}
        if detect is None:  # the one default of CLI, API and service
            detect = True
        self.pipeline = FacePipeline(self.engine.input_size, detector if detect else None,
                                     framing, min_face=min_face,
                                     detector_options={"score": detector_score,
                                                       "max_size": detect_size})
        self.thresholds = self.engine.thresholds(str(threshold), threshold_name)
        self.mirror = mirror

    def close(self) -> None:
        """Stop the recognizer's decoding threads (a later call starts them again)."""
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.shutdown(wait=True)

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def grey_unreliable(self) -> list[str]:
        """The attributes this model gets wrong on black-and-white faces: the model file's
        ``grey_unreliable`` (measured on the val split turned grey by
        ``tools/calibrate_model.py``: more than 5 points of accuracy lost)."""
        names = self.engine.meta.get("grey_unreliable", [])
        return [a for a in self.attributes if a in names]

    @property
    def detector(self) -> Detector | None:
        return self.pipeline.detector

    @property
    def framing(self) -> Framing:
        return self.pipeline.framing

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Recognizer:
        """A recognizer for the model file at ``path``."""
        return cls(path, **kwargs)

    @property
    def attributes(self) -> list[str]:
        return self.engine.attributes

    def read(self, image: ImageInput | bytes, name: str | None = None) -> Image.Image:
        """Decode an input as every surface does (the service passes uploaded bytes)."""
        return self.pipeline.read(image, name)

    def frame(self, image: ImageInput) -> np.ndarray:
        """The canonical face square the model sees (of the widest face, with detection),
        as uint8 (S, S, 3)."""
        got = self.pipeline.faces(image)
        if not got.usable:
            raise FaceAttrError(f"{_describe(image, 0)}: no face found")
        return got.widest()

    def predict(self, image: ImageInput) -> Prediction:
        """Attributes of one image (with detection: of its largest face); raises
        :class:`FaceAttrError` if it cannot be read or holds no face."""
        res = self.predict_batch([image])[0]
        if res.error is not None:
            raise FaceAttrError(res.error)
        usable = [p for p in res.faces if not p.skipped]
        if not usable:
            raise FaceAttrError(f"{res.source}: no face of at least "
                                f"{self.pipeline.min_face:g} px found ({res.faces[0].skipped})")
        detected = [p.face for p in usable if p.face is not None]
        return usable[largest(detected)] if len(detected) == len(usable) > 1 else usable[0]

    def predict_faces(self, image: ImageInput) -> list[Prediction]:
        """One prediction per face found in ``image`` (needs ``detect=True``), left to right."""
        res = self.predict_batch([image])[0]
        if res.error is not None:
            if res.error.endswith("no face found"):
                return []
            raise FaceAttrError(res.error)
        return res.faces

    def predict_video(self, path: str | Path, fps: float = 5.0,
                      batch_size: int = 64) -> list[Prediction]:
        """The faces of a video file (needs ``faceattr[video]``): one prediction per face per
        frame sampled at ``fps`` (``.video``: time, frame, track id), then one per track with its
        probabilities averaged over its frames (``.video.frames`` set). A video that breaks off
        gives what was read, then a prediction with ``error`` set."""
        from faceattr.inference.video import predict_video

        return list(predict_video(self, path, fps, batch_size))

    def predict_batch(self, images: Sequence[ImageInput], batch_size: int = 64,
                      workers: int | None = None) -> list[Result]:
        """One :class:`Result` per image, in order: its faces (``.faces``, one
        :class:`Prediction` each, left to right), or ``.error`` for an image that could not be
        read or holds no face."""
        return list(self.iter_predict(images, batch_size, workers))

    def iter_predict(self, images: Iterable[ImageInput], batch_size: int = 64,
                     workers: int | None = None) -> Iterator[Result]:
        """Like :meth:`predict_batch`, in input order, as results come.

        A pipeline: ``workers`` threads (default: one per core) decode, detect and frame up to
        two batches ahead while the network runs on the batch before (Pillow and ONNX
        Runtime all release the GIL while they work).
        """
        check_many(images, batch_size, workers)
        workers = workers or max(2, os.cpu_count() or 1)
        ahead = 2 * batch_size
        source = enumerate(images)
        pending: deque = deque()
        batch: list[tuple[int, ImageInput, PictureFaces | str]] = []

        def frame(image: ImageInput) -> PictureFaces | str:
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
                yield from self._emit(batch, batch_size)
                batch = []

    def _pool(self, workers: int) -> ThreadPoolExecutor:
        """A thread pool kept for the Recognizer's life: its threads keep their detector
        models (loading one takes ~0.1 s), so repeated calls do not pay for it again."""
        if workers not in self._pools:
            self._pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="frame")
        return self._pools[workers]

    def faces(self, image: ImageInput | bytes, name: str | None = None) -> PictureFaces:
        """The faces of one picture (with detection) or its framed crop, through the one face
        pipeline (:class:`~faceattr.preprocess.faces.FacePipeline`)."""
        return self.pipeline.faces(image, name)

    @property
    def expressions(self) -> list[str]:
        """The expression classes the model gives ([] for a model without that task)."""
        return self.engine.expressions

    @property
    def has_age(self) -> bool:
        return self.engine.has_age

    def prediction(self, name: str, scores: FaceScores, thresholds: np.ndarray | None = None,
                   **where: Any) -> Prediction:
        """One face's :class:`Prediction` from the network's scores for it."""
        cut = self.thresholds if thresholds is None else thresholds
        p = scores.attributes
        return Prediction(
            name, {a: float(v) for a, v in zip(self.attributes, p)},
            {a: bool(v >= t) for a, v, t in zip(self.attributes, p, cut)},
            age=scores.age, age_sd=scores.age_sd, age_range=scores.age_range,
            expressions={} if scores.expressions is None else
            {e: float(v) for e, v in zip(self.expressions, scores.expressions)}, **where)

    def result(self, name: str, faces: PictureFaces | str, scores: Iterator[FaceScores],
               thresholds: np.ndarray | None = None) -> Result:
        """The :class:`Result` of one picture from its faces and the network's scores for its
        usable faces, in order (``faces`` may be the error message of a failed input)."""
        if isinstance(faces, str):
            return Result(name, error=faces)
        res = Result(name, width=faces.width, height=faces.height)
        if not faces.faces:
            res.error = f"{name}: no face found"
            return res
        for k, face in enumerate(faces.faces):
            if face.detection is None:
                box = self.framing.square(faces.width, faces.height)
            else:
                x0, y0, x1, y1 = (float(v) for v in face.detection.box)
                box = (x0, y0, x1, y1)
            if face.pixels is None:
                res.faces.append(Prediction(name, face=face.detection, face_index=k, box=box))
                continue
            res.faces.append(self.prediction(
                name, next(scores), thresholds, face=face.detection, face_index=k, box=box,
                unreliable=self.grey_unreliable if face.grey else [], likeness=face.likeness))
        return res

    def _emit(self, batch: list[tuple[int, ImageInput, PictureFaces | str]],
              batch_size: int = 64) -> Iterator[Result]:
        """Run the network over the usable faces of ``batch`` (``batch_size`` faces a call);
        one result per input."""
        good = [sq for _, _, got in batch if not isinstance(got, str) for sq in got.squares()]
        scores = iter(self.engine.scores(np.stack(good), batch_size, mirror=self.mirror)
                      if good else [])
        for i, image, got in batch:
            yield self.result(_describe(image, i), got, scores)
