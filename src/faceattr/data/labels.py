"""Parsers for attribute label files: CelebA ``list_attr`` format, CelebA partitions, CSV.

Labels are held as 0/1 (``uint8``), as ``torchvision.datasets.CelebA`` does.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceattr.errors import FaceAttrError

SPLITS = {"train": 0, "val": 1, "valid": 1, "test": 2}


FILE_COLUMNS = ("file", "filename", "file_name", "image", "image_id", "path", "name")
MISSING = 255  # an attribute label a row does not have (a blank CSV cell, an age/expression set)


@dataclass(frozen=True)
class LabelTable:
    """Binary labels: ``values[i, j]`` is 1 when image ``files[i]`` has ``attributes[j]``, 0 when
    it has not, :data:`MISSING` when the label is unknown (a blank cell of a CSV)."""

    attributes: tuple[str, ...]
    files: tuple[str, ...]
    values: np.ndarray  # (N, A) uint8 in {0, 1}

    def __len__(self) -> int:
        return len(self.files)

    def row_of(self) -> dict[str, int]:
        """Map file name to row index."""
        return {f: i for i, f in enumerate(self.files)}


def _fail(path: Path, lineno: int | None, msg: str) -> FaceAttrError:
    where = f"{path}:{lineno}" if lineno is not None else str(path)
    return FaceAttrError(f"{where}: {msg}")


def _read_lines(path: Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise FaceAttrError(f"label file not found: {path}")
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is fine
    except UnicodeDecodeError as e:
        raise _fail(path, None, f"not a text file ({e.reason})") from None


def _binary(token: str, path: Path, lineno: int, allowed: frozenset[str]) -> int:
    if token not in allowed:
        want = "/".join(sorted(allowed))
        raise _fail(path, lineno, f"label value {token!r} is not one of {want}")
    return 1 if token == "1" else 0


def _check_unique(names: list[str], path: Path, what: str, first_line: int,
                  one_line: bool = False) -> None:
    """Refuse a repeated name; rows start at ``first_line`` (or all sit on it: ``one_line``)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            if one_line:
                raise _fail(path, first_line, f"duplicate {what} {name!r} (columns "
                            f"{seen[name] + 1} and {i + 1} of the names)")
            raise _fail(path, first_line + i, f"duplicate {what} {name!r} (first on line "
                        f"{first_line + seen[name]})")
        seen[name] = i


def read_celeba_attributes(path: str | Path) -> LabelTable:
    """Read a CelebA (or CelebA-HQ) attribute file: count, names, ``file v1 .. vA`` rows."""
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) < 2:
        raise _fail(path, None, "too short for a CelebA attribute file (needs a count line and a "
                    "names line)")
    try:
        declared = int(lines[0].strip())
    except ValueError:
        raise _fail(path, 1, f"expected the row count, got {lines[0].strip()[:40]!r}") from None
    attributes = lines[1].split()
    if not attributes:
        raise _fail(path, 2, "the attribute names line is empty")
    if all(a in ("-1", "1", "0") for a in attributes[1:]) and len(attributes) > 1:
        raise _fail(path, 2, f"expected the attribute names, got a row of values "
                    f"({' '.join(attributes[:3])} ...): the names line is missing")
    _check_unique(attributes, path, "attribute name", 2, one_line=True)
    allowed = frozenset({"-1", "1"})
    n_attr = len(attributes)
    files: list[str] = []
    values = np.zeros((max(len(lines) - 2, 0), n_attr), dtype=np.uint8)
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n_attr + 1:
            got = len(parts) - 1
            raise _fail(path, lineno, f"expected a file name and {n_attr} values, got "
                        f"{'a file name and ' if got >= 0 else ''}{got} value"
                        f"{'s' if got != 1 else ''} ({abs(got - n_attr)} "
                        f"{'too few' if got < n_attr else 'too many'})")
        tokens = parts[1:]
        if not allowed.issuperset(tokens):
            bad = next(t for t in tokens if t not in allowed)
            _binary(bad, path, lineno, allowed)
        values[len(files)] = [t == "1" for t in tokens]
        files.append(parts[0])
    if declared != len(files):
        raise _fail(path, 1, f"declares {declared} rows but holds {len(files)}")
    _check_unique(files, path, "row for image", 3)
    return LabelTable(tuple(attributes), tuple(files), values[: len(files)])


def read_csv_labels(path: str | Path) -> LabelTable:
    """Read a CSV with header ``file,<attr>,...`` and 0/1 or -1/1 values; a blank cell is an
    unknown label (:data:`MISSING`)."""
    path = Path(path)
    lines = _read_lines(path)
    rows = list(csv.reader(lines))
    if not rows or not rows[0]:
        raise _fail(path, 1, "empty CSV: expected a header 'file,<attribute>,...'")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2:
        raise _fail(path, 1, "the header needs a file column and at least one attribute")
    if header[0].lower() not in FILE_COLUMNS:
        moved = [i + 1 for i, h in enumerate(header) if h.lower() in FILE_COLUMNS]
        raise _fail(path, 1, f"the first column must hold the file names, headed 'file' (got "
                             f"{header[0]!r}" + (f"; 'file' is column {moved[0]}: move it first"
                                                 if moved else "") + ")")
    attributes = header[1:]
    _check_unique(attributes, path, "attribute name", 1, one_line=True)
    allowed = frozenset({"-1", "0", "1"})
    files: list[str] = []
    values = np.zeros((len(rows) - 1, len(attributes)), dtype=np.uint8)
    zero_seen = minus_seen = False
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise _fail(path, lineno, f"expected {len(header)} columns, got {len(row)}")
        tokens = [c.strip() for c in row[1:]]
        zero_seen |= "0" in tokens
        minus_seen |= "-1" in tokens
        if zero_seen and minus_seen:
            raise _fail(path, lineno, "mixes 0/1 and -1/1 label encodings")
        values[len(files)] = [MISSING if not t else _binary(t, path, lineno, allowed)
                              for t in tokens]
        files.append(row[0].strip())
    _check_unique(files, path, "row for image", 2)
    values = values[: len(files)]
    empty = [a for j, a in enumerate(attributes) if len(files) and (values[:, j] == MISSING).all()]
    if empty:
        raise _fail(path, None, f"column {empty[0]!r} has no labels (every cell is blank)")
    return LabelTable(tuple(attributes), tuple(files), values)


def read_labels(path: str | Path) -> LabelTable:
    """Read a label file, choosing the parser by extension (``.csv``) or else the CelebA format."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_csv_labels(path)
    return read_celeba_attributes(path)


def read_partition(path: str | Path) -> dict[str, int]:
    """Read a CelebA partition file: ``file 0|1|2`` per line (train/val/test)."""
    path = Path(path)
    out: dict[str, int] = {}
    for lineno, line in enumerate(_read_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise _fail(path, lineno, f"expected '<file> <0|1|2>', got {len(parts)} fields")
        name, value = parts
        if value not in ("0", "1", "2"):
            raise _fail(path, lineno, f"unknown partition value {value!r} (expected 0, 1 or 2)")
        if name in out:
            raise _fail(path, lineno, f"duplicate row for image {name!r}")
        out[name] = int(value)
    return out


# The eight FER+ emotions, in the column order of FER+'s label file.
EXPRESSIONS: tuple[str, ...] = ("neutral", "happiness", "surprise", "sadness", "anger",
                                "disgust", "fear", "contempt")
FERPLUS_EXTRA = ("unknown", "NF")  # FER+ vote columns that are not an emotion
GROUP_COLUMNS = ("gender", "race")  # UTKFace's, for per-group evaluation only
AGE_MAX = 120
# the column names of an age / expression CSV, read in any letter case
TARGET_COLUMNS = frozenset({"file", "age", "expression", "split", *GROUP_COLUMNS, *EXPRESSIONS})


def _target_header(cells: list[str]) -> list[str]:
    official = {**{c: c for c in TARGET_COLUMNS}, **{e.lower(): e for e in FERPLUS_EXTRA}}
    return [official.get(h.strip().lower(), h.strip()) for h in cells]


@dataclass(frozen=True)
class TargetTable:
    """Age and expression labels, one row per image.

    ``age``: years (float, NaN where a row has none); ``votes``: (N, 8) votes or probabilities
    over :data:`EXPRESSIONS` (all zero where a row has none); ``split``: per-row split names from
    a ``split`` column; ``groups``: integer group columns (``gender``, ``race``; -1 = none).
    """

    files: tuple[str, ...]
    age: np.ndarray | None
    votes: np.ndarray | None
    split: tuple[str, ...] | None = None
    groups: dict[str, np.ndarray] | None = None
    notes: tuple[str, ...] = ()
    excluded: frozenset[str] = frozenset()  # rows left out by the protocol (not an emotion)

    def __len__(self) -> int:
        return len(self.files)

    def row_of(self) -> dict[str, int]:
        return {f: i for i, f in enumerate(self.files)}


def is_target_csv(path: str | Path) -> bool:
    """A CSV whose header names ``age``, ``expression`` or the FER+ vote columns."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", errors="replace") as f:
        header = _target_header(f.readline().split(","))
    return "age" in header or "expression" in header or set(EXPRESSIONS) <= set(header)


def read_targets(path: str | Path) -> TargetTable:
    """Read an age and/or expression CSV: ``file,age[,...]`` (UTKFace's ``labels.csv``),
    ``file,expression`` (an emotion name per row), or FER+'s ``file,split,neutral,...,NF`` votes.

    FER+'s protocol: a row whose most voted column is ``unknown`` or ``NF`` is left out (noted).
    """
    path = Path(path)
    rows = list(csv.reader(_read_lines(path)))
    if not rows or not rows[0]:
        raise _fail(path, 1, "empty CSV: expected a header 'file,age' or 'file,expression'")
    header = _target_header(rows[0])
    if header[0] != "file":
        raise _fail(path, 1, f"the first column must be 'file', got {header[0]!r}")
    col = {h: i for i, h in enumerate(header)}
    has_votes = set(EXPRESSIONS) <= set(col)
    if "age" not in col and "expression" not in col and not has_votes:
        raise _fail(path, 1, "no 'age', 'expression' or FER+ vote columns in the header")
    files: list[str] = []
    ages: list[float] = []
    votes: list[list[float]] = []
    splits: list[str] = []
    groups: dict[str, list[int]] = {g: [] for g in GROUP_COLUMNS if g in col}
    dropped: list[str] = []
    no_age = no_expression = 0  # rows with a blank age / expression cell
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise _fail(path, lineno, f"expected {len(header)} columns, got {len(row)}")
        cell = {h: row[i].strip() for h, i in col.items()}
        v = None
        if has_votes:
            try:
                counts = [float(cell[e]) for e in EXPRESSIONS]
                other = [float(cell[e]) for e in FERPLUS_EXTRA if e in cell]
            except ValueError:
                raise _fail(path, lineno, "vote counts must be numbers") from None
            if min(counts + other, default=0) < 0:
                raise _fail(path, lineno, "vote counts must not be negative")
            if not sum(counts) or max(other, default=0) > max(counts):
                dropped.append(cell["file"])  # the majority is 'unknown' or 'not a face'
                continue
            v = counts
        elif cell.get("expression"):
            name = cell["expression"].lower()
            if name not in EXPRESSIONS:
                raise _fail(path, lineno, f"unknown expression {cell['expression']!r}; use one "
                            f"of {', '.join(EXPRESSIONS)}")
            v = [float(e == name) for e in EXPRESSIONS]
        elif "expression" in col:
            no_expression += 1
        age = float("nan")
        if cell.get("age"):
            try:
                age = float(cell["age"])
            except ValueError:
                raise _fail(path, lineno, f"age {cell['age']!r} is not a number") from None
            if not 0 <= age <= AGE_MAX:
                raise _fail(path, lineno, f"age {age:g} is outside 0-{AGE_MAX} years")
        elif "age" in col:
            no_age += 1
        files.append(cell["file"])
        ages.append(age)
        votes.append(v if v is not None else [0.0] * len(EXPRESSIONS))
        if "split" in cell:
            splits.append(cell["split"].lower())
        for g in groups:
            try:
                groups[g].append(int(cell[g]) if cell[g] else -1)
            except ValueError:
                raise _fail(path, lineno, f"{g} {cell[g]!r} is not an integer") from None
    if not files:
        raise _fail(path, None, "no labelled rows")
    _check_unique(files, path, "row for image", 2)
    age_arr = np.asarray(ages, np.float32)
    vote_arr = np.asarray(votes, np.float32)
    if not np.isfinite(age_arr).any() and not vote_arr.sum():
        raise _fail(path, None, "no labelled rows: every age and expression cell is blank")
    notes = [f"{len(dropped)} row(s) of {path} left out: most votes for 'unknown' or 'not a "
             "face'"] if dropped else []
    for n, what in ((no_age, "age"), (no_expression, "expression")):
        if n:
            notes.append(f"{n} row(s) of {path} have no {what} (a blank cell): left out of "
                         f"the {what} figures")
    return TargetTable(
        tuple(files), age_arr if np.isfinite(age_arr).any() else None,
        vote_arr if vote_arr.sum() > 0 else None, tuple(splits) if splits else None,
        {g: np.asarray(v, np.int64) for g, v in groups.items()} or None, tuple(notes),
        frozenset(dropped))
