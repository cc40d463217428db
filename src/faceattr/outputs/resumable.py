"""Results files that a run can be killed in and resumed from (every resumable format).

Rows are only ever appended, one input's rows at once, and flushed every few seconds, so a run
killed at any moment (even ``kill -9``) leaves a readable output whose inputs are complete.
Running the same command again reads which inputs are done and skips them; what a kill or
damage left unreadable is dropped, named, and done again. A small record (``OUTPUT.run.json``;
``_run.json`` inside a Parquet folder) keeps the model and settings; an output made with other
ones is refused. ``--overwrite`` writes ``OUTPUT.new`` and replaces the old output only when
the run completes. A lock (``OUTPUT.lock``) keeps a second run off the same output.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faceattr.errors import FaceAttrError
from faceattr.outputs import format_class
from faceattr.outputs.base import safe_name

FLUSH_SECONDS = float(os.environ.get("FACEATTR_FLUSH_SECONDS", "2"))  # at most this long unsaved


def settings_record(path: Path, folder: bool) -> Path:
    """The settings record of an output (inside a folder output, beside a file)."""
    return path / "_run.json" if folder else path.with_name(path.name + ".run.json")


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


class ResultsFile:
    """Append-only, resumable results in format ``fmt``; use as a context manager."""

    def __init__(self, path: Path, fmt: str, attributes: list[str], settings: dict[str, Any],
                 overwrite: bool = False, expressions: Sequence[str] = (),
                 age: bool = False) -> None:
        cls = format_class(fmt)
        if not cls.resumable:
            raise FaceAttrError(f"--format {fmt}: a resumable --output is one of jsonl, csv, "
                                "parquet")
        self.format = cls(attributes, None, expressions, age)
        self.final = Path(path)
        self.path = self.final.with_name(self.final.name + ".new") if overwrite else self.final
        self.settings = {"format": fmt, **settings}
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.dropped: list[str] = []  # what a resume found damaged and left out
        self._lock = lock_output(self.final)
        try:
            if overwrite:
                if self.final.is_dir() and any(self.final.iterdir()) and \
                        not settings_record(self.final, True).is_file():
                    raise FaceAttrError(f"{self.final}: a folder that faceattr did not write; "
                                        "not replacing it")
                self._remove()
            self.record = settings_record(self.path, cls.folder)
            self.done = self._resume()
        except BaseException:
            self._unlock()
            raise

    def _remove(self) -> None:
        """Remove the (new) output this run writes, and its settings record."""
        if self.path.is_dir():
            shutil.rmtree(self.path)
        elif self.path.is_file():
            self.path.unlink()
        settings_record(self.path, False).unlink(missing_ok=True)

    def _resume(self) -> set[str]:
        exists = self.path.exists() and (self.path.is_file() or any(self.path.iterdir()))
        if not exists:
            if self.path.is_dir() and not self.format.folder:
                raise FaceAttrError(f"{self.path}: is a folder; --output names a file")
            self.format.start(self.path)
            self.record.write_text(json.dumps(self.settings, indent=1), encoding="utf-8")
            return set()
        if not self.record.is_file():
            raise FaceAttrError(f"{self.path} exists and was not written by 'faceattr predict'"
                                " (no settings record); choose another --output or pass "
                                "--overwrite")
        try:
            saved = json.loads(self.record.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise FaceAttrError(f"{self.record}: corrupt settings record; pass --overwrite "
                                "to start over") from None
        if saved != self.settings:
            diff = ", ".join(f"{k}: {saved.get(k)} -> {v}" for k, v in self.settings.items()
                             if saved.get(k) != v)
            raise FaceAttrError(f"{self.path} was made with other settings ({diff}); pass "
                                "--overwrite to start over, or choose another --output")
        done, self.dropped = self.format.read(self.path)
        return done

    def is_done(self, source: str) -> bool:
        return safe_name(source) in self.done

    def rows(self):
        """Every row written so far (after a flush), as dicts."""
        self.flush()
        yield from self.format.rows(self.path)

    def add(self, preds: list) -> None:
        """All the rows of one input; flushed when a few seconds have passed."""
        self.pending += [self.format.record(p) for p in preds]
        if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        try:
            if self.pending:
                self.format.append(self.path, self.pending)
                self.pending = []
        except OSError as e:  # a full disk, a lost mount: name the file
            raise FaceAttrError(f"{self.path}: cannot write ({e.strerror or e}); the rows "
                                "written before are kept and the run resumes from them") from None
        self.last_flush = time.monotonic()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            self.flush()
            if self.path != self.final and exc_type is None:  # --overwrite, run complete
                if self.final.is_dir():
                    shutil.rmtree(self.final)
                os.replace(self.path, self.final)
                if not self.format.folder:  # a folder output holds its own record
                    os.replace(self.record, settings_record(self.final, False))
        finally:
            self._unlock()

    def _unlock(self) -> None:
        Path(self._lock.name).unlink(missing_ok=True)
        self._lock.close()
