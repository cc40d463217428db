"""A dataset on disk: an image folder plus a label file, an optional partition and a framing.

``images`` is a folder, a ``.tar`` file or a folder of ``.tar`` shards. Labels are looked up by
image id (file name without extension), so a folder may hold only part of a label file's rows
(the way ``../shared/data`` is laid out) and ``012345.webp`` takes the row ``012345.jpg``.
Images without a label row are an error unless ``skip_missing`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceattr.data.labels import (
    SPLITS,
    LabelTable,
    TargetTable,
    is_target_csv,
    read_labels,
    read_partition,
    read_targets,
)
from faceattr.errors import FaceAttrError
from faceattr.preprocess.framing import Framing, get_framing
from faceattr.storage.shards import IMAGE_EXTENSIONS, scan_images


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
        if self.split != "all" and self.partition is None and not is_target_csv(self.labels):
            raise FaceAttrError(f"--split {self.split} needs --partition FILE (or a label CSV "
                                "with a split column)")


@dataclass
class Dataset:
    """Resolved dataset: the image files that have labels, in a fixed (sorted) order."""

    spec: DatasetSpec
    framing: Framing
    attributes: tuple[str, ...]
    files: list[str]  # paths relative to spec.images (tar members as shard.tar/member)
    labels: np.ndarray  # (N, A) uint8
    notes: list[str] = field(default_factory=list)
    # age / expression labels and group columns (age (N,), expression (N, 8), gender, race)
    targets: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.files)


def image_id(name: str) -> str:
    """The id of an image: its file name without folders or extension (``a/012345.webp`` ->
    ``012345``). A label row names an image by id, whatever the image's format."""
    return os.path.splitext(os.path.basename(name))[0]


def matcher(names: Iterable[str]) -> Callable[[str], str | None]:
    """A lookup from an image path to the row name that labels it: the same relative path, else
    the same file name, else the same id (``012345.jpg`` labels ``shard.tar/012345.webp``)."""
    names = set(names)
    by_id: dict[str, str | None] = {}
    for n in names:
        i = image_id(n)
        by_id[i] = None if i in by_id else n  # an id shared by two rows matches neither

    def match(rel: str) -> str | None:
        if rel in names:
            return rel
        base = os.path.basename(rel)
        return base if base in names else by_id.get(image_id(rel))

    return match


def _targets_of(table: TargetTable) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if table.age is not None:
        out["age"] = table.age
    if table.votes is not None:
        out["expression"] = table.votes
    out.update(table.groups or {})
    return out


def resolve(spec: DatasetSpec, table: LabelTable | TargetTable | None = None) -> Dataset:
    """Match the images (folder, tar or shards) with their label rows and partition by id.

    An age / expression CSV (:func:`~faceattr.data.labels.read_targets`) gives a dataset with
    no attributes and its labels in ``targets``; its own ``split`` column selects ``--split``.
    """
    framing = get_framing(spec.framing)
    if table is None:
        table = read_targets(spec.labels) if is_target_csv(spec.labels) else \
            read_labels(spec.labels)
    rows = table.row_of()
    on_disk = scan_images(spec.images)
    if not on_disk:
        raise FaceAttrError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {spec.images}")
    notes: list[str] = []
    if isinstance(table, TargetTable) and table.excluded:  # left out by the label protocol
        gone = matcher(table.excluded)
        on_disk = [f for f in on_disk if gone(f) is None]
    label_of = matcher(rows)
    keys = {f: label_of(f) for f in on_disk}
    unlabelled = [f for f in on_disk if keys[f] is None]
    if unlabelled:
        msg = (f"{len(unlabelled)} image(s) in {spec.images} have no row in {spec.labels} "
               f"(first: {_preview(unlabelled)})")
        if not spec.skip_missing:
            raise FaceAttrError(msg + "; pass --skip-missing to leave them out")
        notes.append("skipped " + msg)
    files = [f for f in on_disk if keys[f] is not None]
    row = {f: rows[k] for f, k in keys.items() if k is not None}  # image -> its label row
    if isinstance(table, TargetTable):
        notes.extend(table.notes)
        if spec.split != "all" and spec.partition is None:
            if table.split is None:
                raise FaceAttrError(f"--split {spec.split}: {spec.labels} has no split column; "
                                    "pass --partition FILE")
            want = SPLITS[spec.split]
            files = [f for f in files if SPLITS.get(table.split[row[f]]) == want]
            if not files:
                raise FaceAttrError(f"no image in {spec.images} belongs to the {spec.split} "
                                    f"split of {spec.labels}")
    if spec.partition is not None:
        part = read_partition(spec.partition)
        part_of = matcher(part)
        split_of = {f: part[k] for f in files if (k := part_of(f)) is not None}
        no_part = [f for f in files if f not in split_of]
        if no_part:
            msg = (f"{len(no_part)} image(s) have no row in {spec.partition} "
                   f"(first: {_preview(no_part)})")
            if not spec.skip_missing:
                raise FaceAttrError(msg + "; pass --skip-missing to leave them out")
            notes.append("skipped " + msg)
            files = [f for f in files if f in split_of]
        if spec.split != "all":
            want = SPLITS[spec.split]
            files = [f for f in files if split_of[f] == want]
            if not files:
                raise FaceAttrError(f"no image in {spec.images} belongs to the {spec.split} split")
    if not files:
        raise FaceAttrError(f"no labelled image in {spec.images}")
    index = np.fromiter((row[f] for f in files), dtype=np.int64, count=len(files))
    wanted, of = len(table), ""  # the label rows of the chosen split
    if spec.split != "all":
        want, of = SPLITS[spec.split], f" of the {spec.split} split"
        if spec.partition is not None:
            wanted = sum(part[k] == want for name in table.files
                         if (k := part_of(name)) is not None)
        elif isinstance(table, TargetTable) and table.split is not None:
            wanted = sum(SPLITS.get(x) == want for x in table.split)
    absent = wanted - len(files)
    if absent > 0:
        notes.append(f"{absent} of {wanted} label rows{of} have no image in {spec.images} "
                     "(the folder holds a subset)")
    if isinstance(table, TargetTable):
        return Dataset(spec, framing, (), files, np.zeros((len(files), 0), np.uint8), notes,
                       {k: v[index] for k, v in _targets_of(table).items()})
    return Dataset(spec, framing, table.attributes, files, table.values[index], notes)
