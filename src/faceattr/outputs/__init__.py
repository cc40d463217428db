"""Output formats behind one registry: ``--format NAME`` or the ``--output`` file's suffix.

Each format is one module of this package with one :class:`OutputFormat` subclass (its ``name``
is the format's name): adding a format is adding a file. ``resumable.py`` holds what every
resumable format shares (the settings record, the lock, recovery on damage).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from faceattr.errors import FaceAttrError
from faceattr.outputs.base import OutputFormat, columns, row_of, safe_name

__all__ = ["OutputFormat", "columns", "format_class", "format_names", "implied_format",
           "row_of", "safe_name"]

_NOT_FORMATS = {"base", "resumable"}


def format_names() -> list[str]:
    """The registered formats (one per module of this package)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_FORMATS)


def format_class(name: str) -> type[OutputFormat]:
    """The :class:`OutputFormat` subclass registered as ``name``."""
    if name not in format_names():
        raise FaceAttrError(f"unknown output format {name!r}; known: {', '.join(format_names())}")
    module = importlib.import_module(f"{__name__}.{name}")
    found = [v for v in vars(module).values() if isinstance(v, type)
             and issubclass(v, OutputFormat) and v is not OutputFormat
             and getattr(v, "name", "") == name]
    if len(found) != 1:
        raise FaceAttrError(f"{module.__name__}: expected one OutputFormat named {name!r}")
    return found[0]


def implied_format(path: Path) -> str | None:
    """The format an output's name says (its suffix), or None."""
    suffix = Path(path).suffix.lower()
    for name in format_names():
        if suffix in format_class(name).suffixes:
            return name
    return None


def suffixes() -> list[str]:
    return [s for name in format_names() for s in format_class(name).suffixes]
