"""``--format jsonl``: one JSON record per face (:meth:`faceattr.results.Prediction.record`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from faceattr.outputs.base import LineFormat
from faceattr.results import flatten


class Jsonl(LineFormat):
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def write(self, preds: list, out: TextIO) -> None:
        for p in preds:
            out.write(json.dumps(p.record()) + "\n")

    def record(self, p) -> dict[str, Any]:
        return p.record()

    def start(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")

    def file_of(self, line: str) -> str | None:
        try:
            r = json.loads(line)
        except ValueError:
            return None
        ok = isinstance(r, dict) and isinstance(r.get("file"), str) and (
            "error" in r or "skipped" in r
            or len(r.get("probabilities", {})) == len(self.attributes))
        return r["file"] if ok else None


    def append(self, path: Path, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r) + "\n" for r in records)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)

    def rows(self, path: Path) -> Iterator[dict[str, Any]]:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield flatten(json.loads(line), self.attributes, self.expressions, self.age)
