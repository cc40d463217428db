"""``--format csv``: one flat row per face, the face record flattened
(:func:`faceattr.results.flatten`: box, score, error, skipped, unreliable, video place, age,
expressions, every probability and decision)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from faceattr.errors import FaceAttrError
from faceattr.outputs.base import LineFormat


class Csv(LineFormat):
    name = "csv"
    suffixes = (".csv",)
    header_lines = 1

    def _text(self, rows: list[dict[str, Any]], header: bool = False) -> str:
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\n")
        if header:
            w.writerow(self.columns)
        w.writerows([r[c] for c in self.columns] for r in rows)
        return buf.getvalue()

    def write(self, preds: list, out: TextIO) -> None:
        out.write(self._text([self.row(p) for p in preds], header=self.first))
        self.first = False

    def start(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self._text([], header=True), encoding="utf-8")

    def file_of(self, line: str) -> str | None:
        try:
            row = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            return None
        if len(row) != len(self.columns):
            return None
        rec = dict(zip(self.columns, row))
        if not (rec["error"] or rec["skipped"]):
            try:
                [float(rec[f"{a}_prob"]) for a in self.attributes]
            except ValueError:
                return None
        return rec["file"] or None

    def check_header(self, path: Path, lines: list[str]) -> None:
        if not lines or next(csv.reader(lines[:1])) != self.columns:
            raise FaceAttrError(f"{path}: its header is not faceattr's for this model; pass "
                                "--overwrite to start over")

    def append(self, path: Path, records: list[dict[str, Any]]) -> None:
        with path.open("a", newline="", encoding="utf-8", errors="backslashreplace") as f:
            f.write(self._text(records))

    def rows(self, path: Path) -> Iterator[dict[str, Any]]:
        with path.open(newline="", encoding="utf-8") as f:
            yield from csv.DictReader(f)
