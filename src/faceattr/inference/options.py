"""The prediction options, defined once: the CLI, the service, a resumable output's run record
and Ray all take a :class:`PredictOptions`."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from faceattr.preprocess.detectors import DEFAULT_DETECTOR
from faceattr.preprocess.faces import MIN_FACE
from faceattr.results import SCHEMA_VERSION


@dataclass(frozen=True)
class PredictOptions:
    """How faces are found and answered. ``threshold``: 0.5, tuned or a number; ``detect``:
    find and align every face (else each input is a crop of ``framing``); ``detect_size``: the
    longest side a picture is scanned at; ``fps``: video frames sampled per second;
    ``batch_size``: faces per network call (changes speed, not answers)."""

    model: str | None = None
    threshold: str = "0.5"
    mirror: bool = False
    backend: str = "auto"
    detect: bool = True
    framing: str | None = None
    detector: str = DEFAULT_DETECTOR
    min_face: float = MIN_FACE
    detector_score: float | None = None
    detect_size: int | None = None
    fps: float = 5.0
    batch_size: int = 64

    def with_(self, **changes: Any) -> PredictOptions:
        return replace(self, **changes)

    def recognizer_kwargs(self) -> dict[str, Any]:
        """The :class:`~faceattr.inference.recognizer.Recognizer` arguments of these options."""
        return {"model": self.model, "framing": self.framing, "threshold": self.threshold,
                "mirror": self.mirror, "backend": self.backend, "detect": self.detect,
                "detector": self.detector, "min_face": self.min_face,
                "detector_score": self.detector_score, "detect_size": self.detect_size}

    def recognizer(self, **extra: Any):
        from faceattr.inference.recognizer import Recognizer

        return Recognizer(**self.recognizer_kwargs(), **extra)

    def record(self, rec) -> dict[str, Any]:
        """What makes two runs' results comparable, kept beside a resumable output: every
        option that changes an answer (not ``batch_size``, not ``backend``'s name alone), the
        model file's digest and the record schema."""
        digest = hashlib.sha256(rec.engine.path.read_bytes()).hexdigest()[:16]
        keep = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("model", "backend", "batch_size", "detector")}
        return {"schema": SCHEMA_VERSION, "model": rec.engine.path.name, "model_sha256": digest,
                "backend": type(rec.engine).__name__, **keep,
                "threshold": str(self.threshold),
                "detect": rec.detector.name if rec.detector is not None else False,
                "min_face": rec.pipeline.min_face, "framing": rec.framing.name}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
