"""Face detectors behind one registry: ``create_detector("yunet")``, ``--detector NAME``.

Each detector is one module of this package with one :class:`Detector` subclass (its ``name`` is
its registry name): adding a detector is adding a file. Modules are imported only when their
detector is asked for, so a detector whose library is missing costs nothing until it is used.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

from faceattr.errors import FaceAttrError
from faceattr.preprocess.detectors.base import DetectedFace, Detector, largest, nms

__all__ = ["DEFAULT_DETECTOR", "DetectedFace", "Detector", "create_detector", "detector_names",
           "largest", "nms"]

DEFAULT_DETECTOR = "yunet"
_NOT_DETECTORS = {"base"}


def detector_names() -> list[str]:
    """The registered detector names (one per module of this package)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_DETECTORS)


def detector_class(name: str) -> type[Detector]:
    """The :class:`Detector` subclass registered as ``name``."""
    if name not in detector_names():
        raise FaceAttrError(f"unknown detector {name!r}; known: {', '.join(detector_names())}")
    module = importlib.import_module(f"{__name__}.{name}")
    found = [v for v in vars(module).values() if isinstance(v, type)
             and issubclass(v, Detector) and v is not Detector and getattr(v, "name", "") == name]
    if len(found) != 1:
        raise FaceAttrError(f"{module.__name__}: expected one Detector named {name!r}")
    return found[0]


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
