"""Results files that a run can be killed in and resumed from: JSON lines, CSV or Parquet.

One record per face: file, face index, box, error, every probability and every decision. Rows are
only ever appended, one input's rows at once, and flushed every few seconds, so a run killed at
any moment (even ``kill -9``) leaves a readable file whose inputs are complete. Running the same
command again reads which inputs are done and skips them. A small sidecar (``OUTPUT.run.json``;
``_run.json`` inside a Parquet folder) records the model and settings; a results file made with
other ones is refused (``--overwrite`` starts over).

Parquet output is a folder of part files (``part-00000.parquet``, ...), as Spark, Ray and
pyarrow datasets write it: each flush adds a complete part, so nothing half-written is ever read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from faceattr.errors import FaceAttrError
from faceattr.inference.recognizer import Prediction

FORMATS = ("jsonl", "csv", "parquet")
BOX = ("box_left", "box_top", "box_right", "box_bottom")
FLUSH_SECONDS = float(os.environ.get("FACEATTR_FLUSH_SECONDS", "2"))  # at most this long unsaved


def columns(attributes: list[str]) -> list[str]:
    """The flat columns of a result row."""
    return ["file", "face", *BOX, "error", "skipped", *(f"{a}_prob" for a in attributes),
            *attributes]


def safe_name(name: str) -> str:
    """A file name as written in results: valid UTF-8 (undecodable bytes as ``\\udcXX``)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def row_of(p: Prediction, attributes: list[str]) -> dict[str, Any]:
    """The flat record of one face (or of an input that failed). A skipped face (smaller than
    the minimum) has its box and the reason, and no attributes."""
    box = [round(float(v), 1) for v in p.face.box] if p.face is not None else [None] * 4
    row: dict[str, Any] = {"file": safe_name(p.source), "face": p.face_index if p.ok else None,
                           **dict(zip(BOX, box)), "error": p.error, "skipped": p.skipped}
    has = p.ok and not p.skipped
    for a in attributes:
        row[f"{a}_prob"] = round(p.probabilities[a], 5) if has else None
    for a in attributes:
        row[a] = int(p.decisions[a]) if has else None
    return row


class ResultsFile:
    """Append-only, resumable results in ``fmt``; use as a context manager."""

    def __init__(self, path: Path, fmt: str, attributes: list[str], settings: dict[str, Any],
                 overwrite: bool = False) -> None:
        if fmt not in FORMATS:
            raise FaceAttrError(f"--format {fmt}: a resumable --output is jsonl, csv or parquet")
        self.path, self.fmt, self.attributes = Path(path), fmt, attributes
        self.columns = columns(attributes)
        self.sidecar = (self.path / "_run.json" if fmt == "parquet"
                        else self.path.with_name(self.path.name + ".run.json"))
        self.settings = {"format": fmt, **settings}
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.parts = 0
        if overwrite:
            self._remove()
        self.done = self._resume()

    # ---- opening and resuming ------------------------------------------------------------
    def _remove(self) -> None:
        if self.path.is_dir() and self.fmt == "parquet":
            if any(self.path.iterdir()) and not self.sidecar.is_file():
                raise FaceAttrError(f"{self.path}: a folder that faceattr did not write; "
                                    "not removing it")
            shutil.rmtree(self.path)
        elif self.path.is_file():
            self.path.unlink()
        self.sidecar.unlink(missing_ok=True)

    def _resume(self) -> set[str]:
        exists = self.path.exists() and (self.path.is_file() or any(self.path.iterdir()))
        if not exists:
            if self.path.is_dir() and self.fmt != "parquet":
                raise FaceAttrError(f"{self.path}: is a folder; --output names a file")
            self._start()
            return set()
        if not self.sidecar.is_file():
            raise FaceAttrError(f"{self.path} exists and was not written by 'faceattr predict'"
                                " (no settings record); choose another --output or pass "
                                "--overwrite")
        try:
            saved = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise FaceAttrError(f"{self.sidecar}: corrupt settings record; pass --overwrite "
                                "to start over") from None
        if saved != self.settings:
            diff = ", ".join(f"{k}: {saved.get(k)} -> {v}" for k, v in self.settings.items()
                             if saved.get(k) != v)
            raise FaceAttrError(f"{self.path} was made with other settings ({diff}); pass "
                                "--overwrite to start over, or choose another --output")
        return self._read_done()

    def _start(self) -> None:
        if self.fmt == "parquet":
            self.path.mkdir(parents=True, exist_ok=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="", encoding="utf-8") as f:
                if self.fmt == "csv":
                    csv.writer(f).writerow(self.columns)
        self.sidecar.write_text(json.dumps(self.settings, indent=1), encoding="utf-8")

    def _read_done(self) -> set[str]:
        """Inputs already written; a last line cut short by a kill is dropped from the file."""
        if self.fmt == "parquet":
            pq = _pyarrow_parquet()
            parts = sorted(self.path.glob("part-*.parquet"))
            for tmp in self.path.glob("*.tmp"):
                tmp.unlink()
            self.parts = len(parts)
            return {f for p in parts for f in pq.read_table(p, columns=["file"])["file"]
                    .to_pylist()}
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # an incomplete last line: never flushed whole, so never counted
            with self.path.open("r+b") as f:
                f.truncate(cut)
        text = data[:cut].decode("utf-8", errors="surrogateescape")
        if self.fmt == "jsonl":
            return {json.loads(line)["file"] for line in text.splitlines() if line.strip()}
        return {row["file"] for row in csv.DictReader(io.StringIO(text))}

    # ---- writing ---------------------------------------------------------------------------
    def is_done(self, source: str) -> bool:
        return safe_name(source) in self.done

    def rows(self):
        """Every row written so far (after a flush), as dicts."""
        self.flush()
        if self.fmt == "parquet":
            pq = _pyarrow_parquet()
            for part in sorted(self.path.glob("part-*.parquet")):
                yield from pq.read_table(part).to_pylist()
        elif self.fmt == "jsonl":
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        r = json.loads(line)
                        yield {**r, **{a: int(v) for a, v in r.get("decisions", {}).items()}}
        else:
            with self.path.open(newline="", encoding="utf-8") as f:
                yield from csv.DictReader(f)

    def add(self, preds: list[Prediction]) -> None:
        """All the rows of one input; flushed when a few seconds have passed. JSON lines hold
        the same records as ``faceattr predict --format jsonl`` prints; CSV and Parquet the
        flat rows of :func:`row_of`."""
        if self.fmt == "jsonl":
            self.pending += [{**p.to_dict(), "file": safe_name(p.source)} for p in preds]
        else:
            self.pending += [row_of(p, self.attributes) for p in preds]
        if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            if self.fmt == "parquet":
                self._write_part()
            else:
                buf = io.StringIO(newline="")
                if self.fmt == "jsonl":
                    buf.writelines(json.dumps(r) + "\n" for r in self.pending)
                else:
                    csv.writer(buf, lineterminator="\n").writerows(
                        [r[c] for c in self.columns] for r in self.pending)
                with self.path.open("a", newline="", encoding="utf-8",
                                    errors="backslashreplace") as f:
                    f.write(buf.getvalue())
            self.pending = []
        self.last_flush = time.monotonic()

    def _write_part(self) -> None:
        import pyarrow as pa

        pq = _pyarrow_parquet()
        table = pa.Table.from_pylist(self.pending, schema=self.schema())
        final = self.path / f"part-{self.parts:05d}.parquet"
        tmp = final.with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self.parts += 1

    def schema(self):
        return parquet_schema(self.attributes)

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def parquet_schema(attributes: list[str]):
    """The Arrow schema of result rows (:func:`row_of`)."""
    import pyarrow as pa

    return pa.schema([("file", pa.string()), ("face", pa.int32()),
                      *((b, pa.float32()) for b in BOX), ("error", pa.string()),
                      ("skipped", pa.string()),
                      *((f"{a}_prob", pa.float32()) for a in attributes),
                      *((a, pa.int8()) for a in attributes)])


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FaceAttrError("--format parquet needs pyarrow: pip install "
                            "'faceattr[parquet]'") from None
    return pq
