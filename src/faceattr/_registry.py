"""Registries: a name -> class mapping, as rembg's sessions and timm's models are kept.

Each entry names its class by import path (``"package.module:Class"``), so a class whose library
is missing costs nothing until it is asked for; :meth:`Registry.register` adds one at run time
(a detector or an output format of your own).
"""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

from faceattr.errors import FaceAttrError

T = TypeVar("T")


class Registry(Generic[T]):
    """``what`` (for messages) -> subclasses of ``base`` by name."""

    def __init__(self, what: str, base: type[T], entries: dict[str, str]) -> None:
        self.what, self.base = what, base
        self._entries: dict[str, str | type[T]] = dict(entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``; a clear error for an unknown one."""
        entry = self._entries.get(name)
        if entry is None:
            raise FaceAttrError(f"unknown {self.what} {name!r}; known: "
                                f"{', '.join(self.names())}")
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            assert isinstance(entry, type) and issubclass(entry, self.base), entry
            self._entries[name] = entry
        return entry

    def register(self, cls: type[T]) -> type[T]:
        """Add ``cls`` under its ``name`` (usable as a class decorator)."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise FaceAttrError(f"{cls.__name__}: a registered {self.what} needs a name")
        if not issubclass(cls, self.base):
            raise FaceAttrError(f"{cls.__name__} is not a {self.base.__name__}")
        self._entries[name] = cls
        return cls
