"""Output formats behind one registry: ``--format NAME`` or the ``--output`` file's suffix.

Each format is one module of this package with one :class:`OutputFormat` subclass, listed by
name in :data:`FORMATS` (one line); a program adds its own with ``FORMATS.register(cls)``.
``resumable.py`` holds what every resumable format shares (the settings record, the lock,
recovery on damage).
"""

from __future__ import annotations

from pathlib import Path

from faceattr._registry import Registry
from faceattr.outputs.base import OutputFormat, columns, safe_name

__all__ = ["FORMATS", "OutputFormat", "columns", "format_class", "format_names",
           "implied_format", "safe_name"]

FORMATS: Registry[OutputFormat] = Registry("output format", OutputFormat, {
    "table": "faceattr.outputs.table:Table",
    "jsonl": "faceattr.outputs.jsonl:Jsonl",
    "csv": "faceattr.outputs.csv:Csv",
    "parquet": "faceattr.outputs.parquet:Parquet",
})


def format_names() -> list[str]:
    """The registered formats."""
    return FORMATS.names()


def format_class(name: str) -> type[OutputFormat]:
    """The :class:`OutputFormat` subclass registered as ``name``."""
    return FORMATS.get(name)


def implied_format(path: Path) -> str | None:
    """The format an output's name says (its suffix), or None."""
    suffix = Path(path).suffix.lower()
    for name in format_names():
        if suffix in format_class(name).suffixes:
            return name
    return None


def suffixes() -> list[str]:
    return [s for name in format_names() for s in format_class(name).suffixes]
