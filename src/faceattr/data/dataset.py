"""A dataset on disk: an image folder plus a label file, an optional partition and a framing.

Labels are looked up by image file name, so a folder may hold only part of a label file's rows
(the way ``../shared/data`` is laid out). Images in the folder without a label row are an error
unless ``skip_missing`` is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceattr.data.labels import SPLITS, LabelTable, read_labels, read_partition
from faceattr.errors import FaceAttrError
from faceattr.preprocess.framing import Framing, get_framing

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def _preview(names: list[str], n: int = 5) -> str:
    head = ", ".join(names[:n])
    return head + (", ..." if len(names) > n else "")


@dataclass
class DatasetSpec:
    """What the ``--images/--labels/--partition/--split/--framing`` options name."""

    images: Path
    labels: Path
    partition: Path | None = None
    split: str = "all"
    framing: str | None = None
    skip_missing: bool = False

    def __post_init__(self) -> None:
        self.images = Path(self.images)
        self.labels = Path(self.labels)
        self.partition = Path(self.partition) if self.partition else None
        if self.split != "all" and self.split not in SPLITS:
            raise FaceAttrError(f"unknown split {self.split!r}; use train, val, test or all")
        if self.split != "all" and self.partition is None:
            raise FaceAttrError(f"--split {self.split} needs --partition FILE")


@dataclass
class Dataset:
    """Resolved dataset: the image files that have labels, in a fixed (sorted) order."""

    spec: DatasetSpec
    framing: Framing
    attributes: tuple[str, ...]
    files: list[str]  # paths relative to spec.images
    labels: np.ndarray  # (N, A) uint8
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files)


def scan_images(folder: Path) -> list[str]:
    """Image files under ``folder`` (recursively), as sorted relative POSIX paths."""
    if not folder.is_dir():
        raise FaceAttrError(f"image folder not found: {folder}")
    out = []
    for root, _, names in os.walk(folder):
        for name in names:
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                out.append(Path(root, name).relative_to(folder).as_posix())
    return sorted(out)


def resolve(spec: DatasetSpec, table: LabelTable | None = None) -> Dataset:
    """Match the images in the folder with their label rows (and partition); report problems."""
    framing = get_framing(spec.framing)
    table = table if table is not None else read_labels(spec.labels)
    rows = table.row_of()
    on_disk = scan_images(spec.images)
    if not on_disk:
        raise FaceAttrError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {spec.images}")
    notes: list[str] = []

    def key(rel: str) -> str:
        return rel if rel in rows else os.path.basename(rel)

    unlabelled = [f for f in on_disk if key(f) not in rows]
    if unlabelled:
        msg = (f"{len(unlabelled)} image(s) in {spec.images} have no row in {spec.labels} "
               f"(first: {_preview(unlabelled)})")
        if not spec.skip_missing:
            raise FaceAttrError(msg + "; pass --skip-missing to leave them out")
        notes.append("skipped " + msg)
    files = [f for f in on_disk if key(f) in rows]
    if spec.partition is not None:
        part = read_partition(spec.partition)
        no_part = [f for f in files if key(f) not in part]
        if no_part:
            msg = (f"{len(no_part)} image(s) have no row in {spec.partition} "
                   f"(first: {_preview(no_part)})")
            if not spec.skip_missing:
                raise FaceAttrError(msg + "; pass --skip-missing to leave them out")
            notes.append("skipped " + msg)
            files = [f for f in files if key(f) in part]
        if spec.split != "all":
            want = SPLITS[spec.split]
            files = [f for f in files if part[key(f)] == want]
            if not files:
                raise FaceAttrError(f"no image in {spec.images} belongs to the {spec.split} split")
    if not files:
        raise FaceAttrError(f"no labelled image in {spec.images}")
    index = np.fromiter((rows[key(f)] for f in files), dtype=np.int64, count=len(files))
    absent = len(table) - len(files)
    if absent > 0:
        notes.append(f"{absent} of {len(table)} label rows have no image in {spec.images} "
                     "(the folder holds a subset)")
    return Dataset(spec, framing, table.attributes, files, table.values[index], notes)
