"""Images inside uncompressed tar shards (the WebDataset / LAION layout), read in place.

A tar member is named by a path through its archive: ``shards/train-00.tar/012345.webp``. Every
place that opens an image by path (``prepare``, ``evaluate``, ``predict``) therefore reads tar
members exactly as it reads files, with no extraction step: :func:`read_bytes` finds the archive
in the path and reads the member at its offset. Each process indexes an archive once.
"""

from __future__ import annotations

import os
import posixpath
import sys
import tarfile
from functools import lru_cache
from pathlib import Path

from faceattr.errors import FaceAttrError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
TAR_EXTENSIONS = (".tar",)


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def is_tar_name(name: str) -> bool:
    return name.lower().endswith(TAR_EXTENSIONS)


def member_name(name: str) -> str | None:
    """A tar member's name as a path inside its archive: leading ``/`` and ``./`` dropped, so
    that ``shard.tar/abs/x.jpg`` names the member ``/abs/x.jpg`` and never the host file; a name
    that climbs out (``..``) or is empty gives None (the member is left out)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


COMPRESSED_TAR_EXTENSIONS = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
                             ".tar.zst")
_COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ": "xz",
                     b"\x28\xb5\x2f\xfd": "zstd"}


def is_compressed_tar_name(name: str) -> bool:
    return name.lower().endswith(COMPRESSED_TAR_EXTENSIONS)


def compressed_note(name: str) -> str:
    return (f"{name}: a compressed tar archive is not read in place; decompress it (gunzip, "
            "unxz, ...) into a .tar and name that")


class TarIndex(dict):
    """Member name -> (data offset, size); ``skipped``: what was left out, and why."""

    skipped: list[str]


def check_not_compressed(path: str | Path) -> None:
    """Refuse, naming the compression, a tar archive that is gzip/bzip2/xz/zstd inside."""
    with open(path, "rb") as f:
        head = f.read(6)
    for magic, kind in _COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            raise FaceAttrError(f"{path}: {kind}-compressed; a compressed tar archive is not "
                                "read in place: decompress it into a .tar and name that")


@lru_cache(maxsize=64)
def _index(path: str, size: int, mtime_ns: int) -> TarIndex:
    """The image members of one archive: data inside the archive, whatever the names say (see
    :func:`member_name`). A hard or symbolic link to an image member of the same archive reads
    that member; links out of it, nested and compressed tars are left out and named."""
    out, skipped = TarIndex(), []
    links: dict[str, str | None] = {}
    check_not_compressed(path)
    try:
        with tarfile.open(path, mode="r:") as tar:
            for m in tar:
                name = member_name(m.name)
                if name is None or name in out or name in links:
                    continue
                if is_tar_name(name) or is_compressed_tar_name(name):
                    skipped.append(f"{name} (a tar inside a tar: extract it first)")
                elif not is_image_name(name):
                    continue
                elif m.isfile():
                    out[name] = (m.offset_data, m.size)
                elif m.islnk() or m.issym():
                    target = m.linkname if m.islnk() else \
                        posixpath.join(posixpath.dirname(m.name), m.linkname)
                    links[name] = member_name(posixpath.normpath(target))
    except tarfile.ReadError as e:
        raise FaceAttrError(f"{path}: not a tar archive ({e})") from None
    for link, to in links.items():
        if to is not None and to in out:
            out[link] = out[to]
        else:
            skipped.append(f"{link} (a link to {to or 'a path outside the archive'}, "
                           "no image in this archive)")
    out.skipped = skipped
    return out


def tar_index(path: str | Path) -> TarIndex:
    """The image members of an uncompressed tar file (cached per process while it is unchanged)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FaceAttrError(f"{path}: no such file") from None
    return _index(str(path), st.st_size, st.st_mtime_ns)


def split_member(path: str | Path) -> tuple[Path, str] | None:
    """``(archive, member)`` when ``path`` goes through a ``.tar`` file, else ``None``."""
    parts = Path(path).parts
    for i in range(len(parts) - 1, 0, -1):
        if is_tar_name(parts[i - 1]):
            archive = Path(*parts[:i])
            if archive.is_file():
                return archive, "/".join(parts[i:])
    return None


def read_bytes(path: str | Path) -> bytes | None:
    """The bytes of a tar member named by ``path``; ``None`` when ``path`` is no tar member."""
    where = split_member(path)
    if where is None:
        return None
    archive, member = where
    loc = tar_index(archive).get(member)
    if loc is None:
        raise FaceAttrError(f"{path}: no such image in {archive}")
    offset, size = loc
    with open(archive, "rb") as f:
        f.seek(offset)
        data = f.read(size)
    if len(data) != size:
        raise FaceAttrError(f"{path}: truncated tar member ({len(data)} of {size} bytes)")
    return data


def tar_members(archive: Path) -> list[str]:
    """Sorted image member names of one archive (what it leaves out is named in a note); a
    clear error if it is not a usable tar."""
    if not tarfile.is_tarfile(archive):
        check_not_compressed(archive)  # a compressed archive says so
        raise FaceAttrError(f"{archive}: not a tar archive")
    index = tar_index(archive)
    for what in index.skipped:
        print(f"note: not read: {archive}/{what}", file=sys.stderr)
    if not index:
        raise FaceAttrError(f"{archive}: tar archive holds no images "
                            f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return sorted(index)


def scan_images(root: Path) -> list[str]:
    """Images under ``root`` as sorted relative POSIX paths.

    ``root`` may be a folder (searched recursively; each ``.tar`` inside is a shard whose members
    appear as ``shard.tar/member``) or a single ``.tar`` file (its member names).
    """
    root = Path(root)
    if root.is_file():
        return tar_members(root)
    if not root.is_dir():
        raise FaceAttrError(f"images not found: {root} (expected a folder, a .tar file or a "
                            "folder of .tar shards)")
    out = []
    unreadable: list[str] = []
    for dirpath, _, names in os.walk(root, onerror=lambda e: unreadable.append(
            f"{e.filename}: {e.strerror or e}")):
        for name in names:
            rel = Path(dirpath, name).relative_to(root).as_posix()
            if is_image_name(name):
                out.append(rel)
            elif is_compressed_tar_name(name):
                unreadable.append(compressed_note(rel))
            elif is_tar_name(name):
                try:
                    out += [f"{rel}/{m}" for m in tar_members(root / rel)]
                except FaceAttrError as e:  # one bad shard of a collection: the rest are read
                    unreadable.append(f"{rel}: {e}".replace(f"{root / rel}: ", ""))
    for what in unreadable:  # said, never skipped without a word
        print(f"note: not read: {what}", file=sys.stderr)
    return sorted(out)


def source_stat(path: Path) -> tuple[int, int]:
    """(size, mtime) of the file that holds ``path``: the file itself, or its archive."""
    where = split_member(path)
    st = (where[0] if where else path).stat()
    return st.st_size, st.st_mtime_ns
