"""Output formats behind one registry: ``--format NAME`` or the ``--output`` file's suffix.

Each format is one module of this package with one :class:`OutputFormat` subclass (its ``name``
is the format's name): adding a format is adding a file. ``resumable.py`` holds what every
resumable format shares (the settings record, the lock, recovery on damage).
"""

from __future__ import annotations

from pathlib import Path

from faceattr import registry
from faceattr.outputs.base import OutputFormat, columns, safe_name

__all__ = ["OutputFormat", "columns", "format_class", "format_names", "implied_format",
           "safe_name"]

_NOT_FORMATS = {"base", "resumable"}


def format_names() -> list[str]:
    """The registered formats (one per module of this package)."""
    return registry.names(__path__, _NOT_FORMATS)


def format_class(name: str) -> type[OutputFormat]:
    """The :class:`OutputFormat` subclass registered as ``name``."""
    return registry.lookup(__name__, name, OutputFormat, format_names(), "output format")


def implied_format(path: Path) -> str | None:
    """The format an output's name says (its suffix), or None."""
    suffix = Path(path).suffix.lower()
    for name in format_names():
        if suffix in format_class(name).suffixes:
            return name
    return None


def suffixes() -> list[str]:
    return [s for name in format_names() for s in format_class(name).suffixes]
