"""What every output format is: the :class:`OutputFormat` interface and the flat result row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TextIO

from faceattr.results import AGE, BOX, VIDEO, Prediction, columns, safe_name

__all__ = ["AGE", "BOX", "VIDEO", "LineFormat", "OutputFormat", "columns", "safe_name"]


class OutputFormat:
    """One output format. Streaming (stdout, or a file written whole): :meth:`write` per input,
    then :meth:`close`. Resumable formats (``resumable``) also implement the file hooks used by
    :class:`~faceattr.outputs.resumable.ResultsFile`: :meth:`start`, :meth:`read`,
    :meth:`append`, :meth:`rows`."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()  # output names that imply this format
    resumable: ClassVar[bool] = True
    folder: ClassVar[bool] = False  # the output is a folder (Parquet parts), not a file

    def __init__(self, attributes: list[str], thresholds: dict[str, float] | None = None,
                 expressions: Sequence[str] = (), age: bool = False) -> None:
        """``expressions``/``age``: the model's expression classes and whether it gives an age
        (they add the age and expression fields and columns)."""
        self.attributes = attributes
        self.thresholds = thresholds or {}
        self.expressions, self.age = list(expressions), age
        self.columns = columns(attributes, self.expressions, age)
        self.first = True

    # ---- streaming ----------------------------------------------------------------------------
    def write(self, preds: list, out: TextIO) -> None:
        """The records of one input (one prediction per face)."""
        raise NotImplementedError(f"--format {self.name} writes only to --output")

    def close(self, out: TextIO) -> None:
        """After the last input (a table is written here, whole)."""

    # ---- resumable files ----------------------------------------------------------------------
    def record(self, p: Prediction) -> dict[str, Any]:
        """What one face becomes in a resumable output (default: the flat row)."""
        return self.row(p)

    def row(self, p: Prediction) -> dict[str, Any]:
        """One face's flat row (:func:`~faceattr.results.columns` for this model)."""
        return p.row(self.attributes, self.expressions, self.age)

    def start(self, path: Path) -> None:
        """Create an empty output."""
        raise NotImplementedError

    def read(self, path: Path) -> tuple[set[str], list[str]]:
        """The inputs already in ``path``, and what was damaged and dropped (the file is left
        holding only its sound records)."""
        raise NotImplementedError

    def append(self, path: Path, records: list[dict[str, Any]]) -> None:
        """Add records, all of them or none (one flush)."""
        raise NotImplementedError

    def rows(self, path: Path) -> Iterator[dict[str, Any]]:
        """Every written record as a flat row (``--summary``)."""
        raise NotImplementedError


class LineFormat(OutputFormat):
    """A text format of one record per line (after ``header_lines`` lines): resuming keeps the
    sound lines, drops the rest (named), and rewrites the file when something was dropped."""

    header_lines: ClassVar[int] = 0

    def file_of(self, line: str) -> str | None:
        """The input file a written line belongs to, or None when the line is damaged."""
        raise NotImplementedError

    def check_header(self, path: Path, lines: list[str]) -> None:
        """Refuse a file whose header is not this format's."""

    def read(self, path: Path) -> tuple[set[str], list[str]]:
        lines, dropped = split_lines(path)
        self.check_header(path, lines)
        good, done = lines[:self.header_lines], set()
        for k, line in enumerate(lines[self.header_lines:], start=self.header_lines + 1):
            name = self.file_of(line)
            if name is None:
                if line.strip():
                    dropped.append(f"line {k} (damaged)")
                continue
            good.append(line)
            done.add(name)
        if dropped:
            rewrite_lines(path, good)
        return done, dropped


def rewrite_lines(path: Path, lines: list[str]) -> None:
    """Replace a text output by ``lines`` atomically (a temporary file, then rename)."""
    import os

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes("".join(lines).encode("utf-8", errors="surrogateescape"))
    os.replace(tmp, path)


def split_lines(path: Path) -> tuple[list[str], list[str]]:
    """The complete lines of a text output, and a note when a last line was cut short."""
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    dropped = ["an incomplete last line"] if cut < len(data) else []
    return data[:cut].decode("utf-8", errors="surrogateescape").splitlines(keepends=True), dropped
