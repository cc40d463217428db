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
from faceattr.preprocess.detectors import DEFAULT_DETECTOR, DetectedFace, Detector, largest
from faceattr.preprocess.faces import MIN_FACE, FacePipeline, ImageInput, PictureFaces
from faceattr.preprocess.framing import Framing


@dataclass
class VideoPlace:
    """Where a video record belongs: a face in a sampled frame (``time``, ``frame``, ``track``),
    or a track's summary (``track``, ``time`` to ``until``, over ``frames`` frames)."""

    time: float | None = None
    frame: int | None = None
    track: int | None = None
    frames: int | None = None  # set on a track's summary: the frames averaged
    until: float | None = None  # a track's last time

    def to_dict(self) -> dict[str, Any]:
        if self.frames is not None:
            return {"track": self.track, "summary": True, "first": self.time, "last": self.until,
                    "frames": self.frames}
        return {"time": self.time, "frame": self.frame, "track": self.track}


@dataclass
class Prediction:
    """Attributes of one face: P(present) and the thresholded decision for each attribute."""

    source: str
    probabilities: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, bool] = field(default_factory=dict)
    error: str | None = None  # set when the input could not be read (or held no face)
    face: DetectedFace | None = None  # with detection: where the face was found
    face_index: int = 0
    unreliable: list[str] = field(default_factory=list)  # e.g. colour attributes, grey input
    video: VideoPlace | None = None  # in a video: when, which frame, which track

    @property
    def ok(self) -> bool:
        """The input was read (a skipped face is not a failure, but has no attributes)."""
        return self.error is None

    @property
    def skipped(self) -> str | None:
        """Why this face has no attributes (too small), or None."""
        return self.face.skipped if self.face is not None else None

    @property
    def present(self) -> list[str]:
        """The attributes decided present, most probable first."""
        return sorted((a for a, d in self.decisions.items() if d),
                      key=lambda a: -self.probabilities[a])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.source}
        if self.video is not None:
            out.update(self.video.to_dict())
        if self.face is not None:
            out["face"] = self.face_index
            out.update(self.face.to_dict())
        if self.error is not None:
            out["error"] = self.error
        elif not self.skipped:
            out["probabilities"] = dict(self.probabilities)
            out["decisions"] = dict(self.decisions)
            if self.unreliable:
                out["unreliable"] = list(self.unreliable)
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
        got = self.pipeline.faces(image).usable
        if not got:
            raise FaceAttrError(f"{_describe(image, 0)}: no face found")
        return got[largest([f.detection for f in got])].pixels if self.detector else got[0].pixels

    def predict(self, image: ImageInput) -> Prediction:
        """Attributes of one image (with detection: of its largest face); raises
        :class:`FaceAttrError` if it cannot be read or holds no face."""
        preds = self.predict_batch([image])
        if preds[0].error is not None:
            raise FaceAttrError(preds[0].error)
        usable = [p for p in preds if not p.skipped]
        if not usable:
            raise FaceAttrError(f"{preds[0].source}: no face of at least "
                                f"{self.pipeline.min_face:g} px found ({preds[0].skipped})")
        if len(usable) == 1:
            return usable[0]
        return usable[largest([p.face for p in usable])]

    def predict_faces(self, image: ImageInput) -> list[Prediction]:
        """One prediction per face found in ``image`` (needs ``detect=True``), left to right."""
        preds = self.predict_batch([image])
        if len(preds) == 1 and preds[0].error is not None:
            if preds[0].error.endswith("no face found"):
                return []
            raise FaceAttrError(preds[0].error)
        return preds

    def predict_video(self, path: str | Path, fps: float = 5.0,
                      batch_size: int = 64) -> list[Prediction]:
        """The faces of a video file (needs ``faceattr[video]``): one prediction per face per
        frame sampled at ``fps`` (``.video``: time, frame, track id), then one per track with its
        probabilities averaged over its frames (``.video.frames`` set). A video that breaks off
        gives what was read, then a prediction with ``error`` set."""
        from faceattr.inference.video import predict_video

        return list(predict_video(self, path, fps, batch_size))

    def predict_batch(self, images: Sequence[ImageInput], batch_size: int = 64,
                      workers: int | None = None) -> list[Prediction]:
        """Attributes of many images. Unreadable ones come back with ``error`` set."""
        return list(self.iter_predict(images, batch_size, workers))

    def iter_predict(self, images: Iterable[ImageInput], batch_size: int = 64,
                     workers: int | None = None) -> Iterator[Prediction]:
        """Like :meth:`predict_batch`, in input order, as results come.

        A pipeline: ``workers`` threads (default: one per core) decode, detect and frame up to
        two batches ahead while the network runs on the batch before (Pillow and ONNX
        Runtime all release the GIL while they work).
        """
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

    def predictions(self, name: str, faces: PictureFaces | str, probs: Iterator[np.ndarray],
                    thresholds: np.ndarray | None = None) -> list[Prediction]:
        """The predictions of one picture from its faces and the network's probabilities for
        its usable faces, in order (``faces`` may be the error message of a failed input)."""
        if isinstance(faces, str):
            return [Prediction(name, error=faces)]
        if not faces.faces:
            return [Prediction(name, error=f"{name}: no face found")]
        cut = self.thresholds if thresholds is None else thresholds
        out = []
        for k, face in enumerate(faces.faces):
            if face.pixels is None:
                out.append(Prediction(name, face=face.detection, face_index=k))
                continue
            p = next(probs)
            out.append(Prediction(
                name, {a: float(v) for a, v in zip(self.attributes, p)},
                {a: bool(v >= t) for a, v, t in zip(self.attributes, p, cut)},
                face=face.detection, face_index=k,
                unreliable=self.grey_unreliable if face.grey else []))
        return out

    def _emit(self, batch: list[tuple[int, ImageInput, PictureFaces | str]],
              batch_size: int = 64) -> Iterator[Prediction]:
        """Run the network over the usable faces of ``batch`` (``batch_size`` faces a call);
        one prediction per face."""
        good = [f.pixels for _, _, got in batch if not isinstance(got, str) for f in got.usable]
        probs = iter(self.engine.probabilities(np.stack(good), batch_size, mirror=self.mirror)
                     if good else [])
        for i, image, got in batch:
            yield from self.predictions(_describe(image, i), got, probs)
