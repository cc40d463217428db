"""Face detectors behind one registry: ``create_detector("yunet")``, ``--detector NAME``.

Each detector is one module of this package with one :class:`Detector` subclass, listed by name
in :data:`DETECTORS` (one line); a program adds its own with ``DETECTORS.register(cls)``.
Modules are imported only when their detector is asked for, so a detector whose library is
missing costs nothing until it is used.
"""

from __future__ import annotations

import inspect
from typing import Any

from faceattr._registry import Registry
from faceattr.errors import FaceAttrError
from faceattr.preprocess.detectors.base import DetectedFace, Detector, largest, nms

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "DetectedFace", "Detector", "create_detector",
           "detector_names", "largest", "nms"]

DEFAULT_DETECTOR = "yunet"
DETECTORS: Registry[Detector] = Registry("detector", Detector, {  # type: ignore[type-abstract]
    "yunet": "faceattr.preprocess.detectors.yunet:YuNet",
    "hog": "faceattr.preprocess.detectors.hog:Hog",
})


def detector_names() -> list[str]:
    """The registered detector names."""
    return DETECTORS.names()


def detector_class(name: str) -> type[Detector]:
    """The :class:`Detector` subclass registered as ``name``."""
    return DETECTORS.get(name)


def create_detector(name: str | Detector | None = None, **options: Any) -> Detector:
    """A detector by name (default :data:`DEFAULT_DETECTOR`) with its options (``score``...),
    or ``name`` itself when it already is a :class:`Detector`."""
    if isinstance(name, Detector):
        return name
    cls = detector_class(name or DEFAULT_DETECTOR)
    options = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(cls.__init__).parameters
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise FaceAttrError(f"detector {cls.name!r} has no option {unknown[0]!r} (its options: "
                            f"{', '.join(p for p in accepted if p != 'self')})")
    return cls(**options)
