"""Registries by module: each module of a package holds one subclass of a base class whose
``name`` is the module's name (detectors, output formats); adding one is adding a file."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from faceattr.errors import FaceAttrError


def names(path: Iterable[str], exclude: set[str]) -> list[str]:
    """The registered names: the modules of the package at ``path`` but ``exclude``."""
    return sorted(m.name for m in pkgutil.iter_modules(list(path)) if m.name not in exclude)


def lookup(package: str, name: str, base: type, known: list[str], what: str) -> type:
    """The subclass of ``base`` named ``name`` in the module ``package.name``."""
    if name not in known:
        raise FaceAttrError(f"unknown {what} {name!r}; known: {', '.join(known)}")
    module = importlib.import_module(f"{package}.{name}")
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, base)
             and v is not base and getattr(v, "name", "") == name]
    if len(found) != 1:
        raise FaceAttrError(f"{module.__name__}: expected one {base.__name__} named {name!r}")
    return found[0]
