"""The one rule for every file faceattr writes: never onto an input, never over an existing
file without ``--overwrite``, checked before any work."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from faceattr.errors import FaceAttrError


def same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name the same file (links and ``..`` resolved; a tar member counts as
    its archive)."""
    from faceattr.storage.shards import split_member

    def real(p: Path) -> str:
        where = split_member(p)
        return os.path.realpath(where[0] if where else p)

    return real(Path(a)) == real(Path(b))


def check_output(path: Path, option: str, inputs: Iterable[Path] = (),
                 overwrite: bool = False) -> None:
    """Refuse, in one line naming ``option``, an output that is one of ``inputs`` (always) or
    that exists (unless ``overwrite``), or that is a folder."""
    path = Path(path)
    for i in inputs:
        if i is not None and Path(i).exists() and same_file(path, Path(i)):
            raise FaceAttrError(f"{option} {path} is one of the inputs ({i}); choose another "
                                "name")
    if path.is_dir():
        raise FaceAttrError(f"{option} {path}: is a folder; name a file")
    if path.exists() and not overwrite:
        raise FaceAttrError(f"{option} {path} exists; pass --overwrite to replace it")
