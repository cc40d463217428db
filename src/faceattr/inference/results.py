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
    return ["file", "face", *BOX, "error", "skipped", "unreliable",
            *(f"{a}_prob" for a in attributes), *attributes]


def safe_name(name: str) -> str:
    """A file name as written in results: valid UTF-8 (undecodable bytes as ``\\udcXX``)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def row_of(p: Prediction, attributes: list[str]) -> dict[str, Any]:
    """The flat record of one face (or of an input that failed). A skipped face (smaller than
    the minimum) has its box and the reason, and no attributes."""
    box = [round(float(v), 1) for v in p.face.box] if p.face is not None else [None] * 4
    row: dict[str, Any] = {"file": safe_name(p.source), "face": p.face_index if p.ok else None,
                           **dict(zip(BOX, box)), "error": p.error, "skipped": p.skipped,
                           "unreliable": ";".join(p.unreliable) or None}
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
        """``overwrite``: write a new output beside the old one (``PATH.new``), which replaces
        it only when the run completes (a run killed early leaves the old output whole)."""
        if fmt not in FORMATS:
            raise FaceAttrError(f"--format {fmt}: a resumable --output is jsonl, csv or parquet")
        self.final = Path(path)
        self.path = self.final.with_name(self.final.name + ".new") if overwrite else self.final
        self.fmt, self.attributes = fmt, attributes
        self.columns = columns(attributes)
        self.settings = {"format": fmt, **settings}
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.parts = 0
        self.dropped: list[str] = []  # what a resume found damaged and left out
        self._lock = lock_output(self.final)
        if overwrite:
            if self.final.is_dir() and self.fmt == "parquet" and any(self.final.iterdir()) \
                    and not _sidecar(self.final, fmt).is_file():
                raise FaceAttrError(f"{self.final}: a folder that faceattr did not write; "
                                    "not replacing it")
            self._remove()
        self.sidecar = _sidecar(self.path, fmt)
        self.done = self._resume()

    # ---- opening and resuming ------------------------------------------------------------
    def _remove(self) -> None:
        """Remove the (new) output this run writes, and its settings record."""
        if self.path.is_dir():
            shutil.rmtree(self.path)
        elif self.path.is_file():
            self.path.unlink()
        _sidecar(self.path, self.fmt).unlink(missing_ok=True)

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
        """Inputs already written. What a kill or damage left unreadable is dropped (named in
        :attr:`dropped`) and redone: a last line cut short, a line or row that does not parse,
        a Parquet part that does not read (moved aside as ``*.damaged``)."""
        if self.fmt == "parquet":
            pq = _pyarrow_parquet()
            for tmp in self.path.glob("*.tmp"):
                tmp.unlink()
            done: set[str] = set()
            for part in sorted(self.path.glob("part-*.parquet")):
                try:
                    names = pq.read_table(part, columns=["file"])["file"].to_pylist()
                except Exception as e:  # pyarrow raises its own error types
                    part.rename(part.with_name(part.name + ".damaged"))
                    self.dropped.append(f"{part.name} ({str(e).splitlines()[0][:60]}), moved "
                                        "aside as .damaged")
                    continue
                done.update(names)
            # parts are numbered on from the highest, so none is ever overwritten
            numbers = [int(p.name[5:10]) for p in self.path.glob("part-*.parquet*")
                       if p.name[5:10].isdigit()]
            self.parts = max(numbers, default=-1) + 1
            return done
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            self.dropped.append("an incomplete last line")
        text = data[:cut].decode("utf-8", errors="surrogateescape")
        good, files = [], set()
        lines = text.splitlines(keepends=True)
        if self.fmt == "csv":
            if not lines or next(csv.reader(lines[:1])) != self.columns:
                raise FaceAttrError(f"{self.path}: its header is not faceattr's for this "
                                    "model; pass --overwrite to start over")
            good.append(lines[0])
            lines = lines[1:]
        for k, line in enumerate(lines, start=2 if self.fmt == "csv" else 1):
            name = self._parse(line)
            if name is None:
                if line.strip():
                    self.dropped.append(f"line {k} (damaged)")
                continue
            good.append(line)
            files.add(name)
        if self.dropped:  # rewrite with the sound lines only, atomically
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_bytes("".join(good).encode("utf-8", errors="surrogateescape"))
            os.replace(tmp, self.path)
        return files

    def _parse(self, line: str) -> str | None:
        """The input file of one written line, or None when the line is damaged."""
        try:
            if self.fmt == "jsonl":
                r = json.loads(line)
                ok = isinstance(r, dict) and isinstance(r.get("file"), str) and (
                    "error" in r or "skipped" in r or len(r.get("probabilities", {})) ==
                    len(self.attributes))
                return r["file"] if ok else None
            row = next(csv.reader([line]))
            if len(row) != len(self.columns):
                return None
            rec = dict(zip(self.columns, row))
            if not (rec["error"] or rec["skipped"]):
                [float(rec[f"{a}_prob"]) for a in self.attributes]
            return rec["file"] or None
        except (ValueError, StopIteration, csv.Error):
            return None

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
        try:
            self._flush()
        except OSError as e:  # a full disk, a lost mount: name the file
            raise FaceAttrError(f"{self.path}: cannot write ({e.strerror or e}); the rows "
                                "written before are kept and the run resumes from them") from None

    def _flush(self) -> None:
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

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            self.flush()
            if self.path != self.final and exc_type is None:  # --overwrite, run complete
                if self.final.is_dir():
                    shutil.rmtree(self.final)
                os.replace(self.path, self.final)
                if self.fmt != "parquet":  # a Parquet folder holds its own record
                    os.replace(self.sidecar, _sidecar(self.final, self.fmt))
        finally:
            Path(self._lock.name).unlink(missing_ok=True)
            self._lock.close()


def _sidecar(path: Path, fmt: str) -> Path:
    """The settings record of an output (inside a Parquet folder, beside a file)."""
    return path / "_run.json" if fmt == "parquet" else path.with_name(path.name + ".run.json")


def lock_output(path: Path):
    """An exclusive lock on ``path`` (a ``.lock`` file beside it) for the run's life: a second
    run writing the same output refuses at once instead of doubling every row."""
    import fcntl

    lock = path.with_name(path.name + ".lock")
    if lock.parent.exists() and not lock.parent.is_dir():
        raise FaceAttrError(f"{path}: Not a directory ({lock.parent} is a file)")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        f = lock.open("a")
    except OSError as e:
        raise FaceAttrError(f"{path}: cannot write here ({e.strerror or e})") from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise FaceAttrError(f"{path}: another faceattr run is writing this output; wait for "
                            "it or choose another --output") from None
    return f


def parquet_schema(attributes: list[str]):
    """The Arrow schema of result rows (:func:`row_of`)."""
    import pyarrow as pa

    return pa.schema([("file", pa.string()), ("face", pa.int32()),
                      *((b, pa.float32()) for b in BOX), ("error", pa.string()),
                      ("skipped", pa.string()), ("unreliable", pa.string()),
                      *((f"{a}_prob", pa.float32()) for a in attributes),
                      *((a, pa.int8()) for a in attributes)])


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FaceAttrError("--format parquet needs pyarrow: pip install "
                            "'faceattr[parquet]'") from None
    return pq
