"""The predict job: inputs, output (resumable or whole), settings record, summary.

``faceattr predict`` and its Ray mode both run through here; the Python API is
:class:`~faceattr.inference.recognizer.Recognizer` itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from faceattr.errors import FaceAttrError
from faceattr.inference.options import PredictOptions
from faceattr.outputs import format_class, implied_format, suffixes


def note(text: str) -> None:
    print(text, file=sys.stderr)


# ---- inputs -----------------------------------------------------------------------------------

def expand_inputs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, folders (recursively) and tar shards expanded to their images, each input
    once however often it is named; plus errors for missing paths. Files in a folder that are
    not images by their extension are counted in a note, never dropped silently."""
    from faceattr.preprocess.video import is_video_name
    from faceattr.storage.shards import (
        IMAGE_EXTENSIONS,
        compressed_note,
        is_compressed_tar_name,
        is_tar_name,
        scan_images,
    )

    files, errors, seen, repeated = [], [], set(), 0
    for p in paths:
        try:
            p.stat()
        except FileNotFoundError:
            errors.append(f"{p}: no such file or folder")
            continue
        except OSError as e:  # a name over 255 bytes, a loop of links, ...: this input only
            errors.append(f"{p}: {e.strerror or e}")
            continue
        if p.is_file() and is_compressed_tar_name(p.name):
            errors.append(compressed_note(str(p)))
            continue
        if p.is_dir() or (p.is_file() and is_tar_name(p.name)):
            try:
                found = [p / rel for rel in scan_images(p)]
            except FaceAttrError as e:  # a bad shard named among other inputs: the rest run
                errors.append(str(e))
                continue
            if p.is_dir():
                others = [f for f in p.rglob("*") if f.is_file() and not is_tar_name(f.name)
                          and not is_compressed_tar_name(f.name)
                          and f.suffix.lower() not in IMAGE_EXTENSIONS]
                found += sorted(f for f in others if is_video_name(f.name))
                others = [f for f in others if not is_video_name(f.name)]
                if others:
                    kinds = sorted({f.suffix.lower() or "(no extension)" for f in others})
                    note(f"note: {len(others)} files in {p} are not read (not images by their "
                         f"name: {', '.join(kinds[:6])}; read: "
                         f"{', '.join(sorted(IMAGE_EXTENSIONS))}); name a file to read it "
                         "anyway")
            if not found:
                note(f"note: {p}: no image or video files in it")
        else:
            found = [p]
        for f in found:
            key = os.path.realpath(f) if f.exists() else os.path.abspath(f)
            if key in seen:
                repeated += 1
                continue
            seen.add(key)
            files.append(f)
    if repeated:
        note(f"note: {repeated} inputs were named more than once; each is read once")
    return files, errors


def read_files_from(source: str) -> list[Path]:
    """``--files-from LIST``: one path per line (``-``: standard input); blank lines skipped,
    lines with control characters reported (escaped) and skipped."""
    try:
        text = (sys.stdin.read() if source == "-" else
                Path(source).read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, UnicodeDecodeError) as e:
        raise FaceAttrError(f"--files-from {source}: {getattr(e, 'strerror', None) or e}") \
            from None
    paths = []
    for k, line in enumerate(text.splitlines(), start=1):
        name = line.rstrip("\r\n")
        if not name.strip():
            continue
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            shown = name.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            note(f"error: --files-from {source} line {k}: not a path (control characters: "
                 f"{shown[:60]!r})")
            continue
        paths.append(Path(name))
    return paths


# ---- output -----------------------------------------------------------------------------------

def choose_format(fmt: str | None, output: Path | None, files: list[Path],
                  overwrite: bool = False) -> str:
    """The format to write, from ``fmt`` or the output's name; refuses a mismatch, an output
    that is one of the inputs, and an existing whole-written file (before any work)."""
    if output:
        real = os.path.realpath(output)
        if any(f.exists() and os.path.realpath(f) == real for f in files):
            raise FaceAttrError(f"--output {output} is one of the inputs; choose another name")
        implied = implied_format(output)
        if fmt is None:
            if implied is None and output.is_dir():
                raise FaceAttrError(f"--output {output}: is a folder; give --format parquet to "
                                    "write Parquet parts there, or name a file")
            if implied is None:
                raise FaceAttrError(f"--output {output}: give --format (table, jsonl, csv or "
                                    f"parquet); it is taken from the name only for "
                                    f"{', '.join(suffixes())}")
            fmt = implied
        elif implied is not None and implied != fmt:
            raise FaceAttrError(f"--output {output} is named as {implied}, but --format {fmt}: "
                                "use a matching name or format")
        if not format_class(fmt).resumable and output.exists() and not overwrite:
            raise FaceAttrError(f"--output {output} exists; pass --overwrite to replace it (a "
                                f"{fmt} output is written whole, it does not resume)")
    fmt = fmt or "table"
    if format_class(fmt).folder and not output:
        raise FaceAttrError(f"--format {fmt} writes a folder: give --output DIR")
    return fmt


@contextlib.contextmanager
def whole_output(path: Path) -> Iterator[TextIO]:
    """Write ``path`` through ``PATH.partial``, renamed over it only when all went well: a run
    that fails never empties an existing output (its partial results stay in ``.partial``).
    Names that are not valid UTF-8 are written with backslash escapes."""
    if path.is_dir():
        raise FaceAttrError(f"{path}: is a folder; --output names a file")
    tmp = path.with_name(path.name + ".partial")
    try:
        f = tmp.open("w", newline="", encoding="utf-8", errors="backslashreplace")
    except OSError as e:
        raise FaceAttrError(f"{path}: {e.strerror or e}") from None
    try:
        with f:
            yield f
    except BaseException:
        note(f"note: {path} left as it was; results so far are in {tmp}")
        raise
    os.replace(tmp, path)


def print_prevalence(rows, attributes: list[str]) -> None:
    """``--summary``: the share of faces where each attribute is decided present."""
    present = np.zeros(len(attributes))
    faces = 0
    for r in rows:
        if r.get("error") or r.get("skipped"):
            continue
        faces += 1
        present += [int(r[a]) for a in attributes]
    note(f"prevalence over {faces} faces:")
    for a, v in sorted(zip(attributes, present / max(faces, 1)), key=lambda x: -x[1]):
        note(f"  {a:22s} {v:7.2%}")


# ---- the job ----------------------------------------------------------------------------------

@dataclass
class PredictJob:
    """One ``faceattr predict`` run over ``files`` with the recognizer ``rec``."""

    rec: Any
    files: list[Path]
    errors: list[str] = field(default_factory=list)  # inputs that failed before reading
    fmt: str = "table"
    output: Path | None = None
    overwrite: bool = False
    annotate: Path | None = None
    summary: bool = False
    options: PredictOptions = field(default_factory=PredictOptions)
    show: list[str] | None = None  # what --annotate labels name (None: the default label)
    report: Path | None = None  # --report: the HTML contact sheet of the faces

    @property
    def batch_size(self) -> int:
        return self.options.batch_size

    def run(self) -> int:
        """Predict, write, summarise; the exit status (1 if any input failed)."""
        from tqdm import tqdm

        rec, attrs = self.rec, self.rec.attributes
        self.check_annotate()
        if self.report is not None:
            from faceattr.storage.writes import check_output

            check_output(self.report, "--report", self.files, self.overwrite)
        by_file: dict[str, list] = {}
        failed, faces, small, summary_rows = len(self.errors), 0, 0, []
        writer = format_class(self.fmt)(attrs, dict(zip(attrs, map(float, rec.thresholds))),
                                        rec.expressions, rec.has_age)
        with contextlib.ExitStack() as stack:
            results, out = None, None
            todo = self.files
            if self.output and writer.resumable:
                from faceattr.outputs.resumable import ResultsFile

                results = stack.enter_context(ResultsFile(
                    self.output, self.fmt, attrs, self.options.record(rec),
                    overwrite=self.overwrite,
                    expressions=rec.expressions, age=rec.has_age))
                for what in results.dropped:
                    note(f"note: {self.output}: dropped {what}; its inputs are done again")
                todo = [f for f in self.files if not results.is_done(str(f))]
                if len(todo) < len(self.files):
                    note(f"note: {len(self.files) - len(todo)} inputs already in {self.output}; "
                         "continuing with the rest")
            else:
                out = stack.enter_context(whole_output(self.output)) if self.output \
                    else sys.stdout
            bar = stack.enter_context(tqdm(total=len(todo), unit="img", file=sys.stderr,
                                           disable=len(todo) <= self.batch_size))
            started = time.perf_counter()
            from faceattr.preprocess.video import is_video_name

            videos = [f for f in todo if is_video_name(f.name)]
            photos = [f for f in todo if not is_video_name(f.name)]
            if videos:  # say what is missing before any work
                from faceattr.preprocess.video import _av

                _av()
            for res in self._results(photos, videos):
                group = res.predictions()
                bar.update(1)
                for p in group:
                    if not p.ok:
                        failed += 1
                        note(f"skipped: {p.error}")
                        continue
                    small += bool(p.skipped)
                    faces += not p.skipped and not (p.video and p.video.frames)
                    if self.annotate or self.report:
                        by_file.setdefault(p.source, []).append(p)
                if results is not None:
                    results.add(group)
                else:
                    if self.summary:
                        summary_rows += [writer.row(p) for p in group]
                    writer.write(group, out)  # type: ignore[arg-type]  # set when not resumable
            if out is not None:
                writer.close(out)
            seconds = time.perf_counter() - started
            if self.summary:
                print_prevalence(results.rows() if results is not None else summary_rows, attrs)
        if self.annotate:
            from faceattr.inference.annotate import annotate, annotate_video
            from faceattr.preprocess.video import is_video_name

            targets = self.annotated()
            for source, preds in by_file.items():
                if is_video_name(source):
                    annotate_video(Path(source), preds, targets[source], show=self.show)
                else:
                    annotate(Path(source), preds, targets[source], show=self.show)
            note(f"annotated {len(by_file)} input{'' if len(by_file) == 1 else 's'} in "
                 f"{self.annotate}")
        if self.report:
            from faceattr.inference.report import write_report

            n = write_report(self.report, by_file, attrs, rec.expressions)
            note(f"wrote a report of {n} faces to {self.report}")
        if self.output:
            note(f"wrote results to {self.output}")
        if len(self.files) > 1 or self.output:  # the closing summary of a batch job
            tiny = f" (and {small} under --min-face, skipped)" if small else ""
            note(f"done: {len(todo)} images, {faces} faces{tiny}, {failed} failed, "
                 f"{len(todo) / max(seconds, 1e-9):.0f} images/s")
        if failed:
            note(f"{failed} of {len(todo) + len(self.errors)} inputs failed")
        return 1 if failed else 0

    def annotated(self) -> dict[str, Path]:
        """Each input's ``--annotate`` file (``inference.annotate.annotated_names``)."""
        from faceattr.inference.annotate import annotated_names

        assert self.annotate is not None
        return annotated_names(self.files, self.annotate)

    def check_annotate(self) -> None:
        """Before any work: no annotated file onto an input, none over an existing file without
        --overwrite, two inputs never onto one file, and the folder writable."""
        from faceattr.storage.writes import check_output

        if self.annotate is None:
            return
        targets = self.annotated()
        for path in targets.values():
            check_output(path, "--annotate", self.files, self.overwrite)
        top = self.annotate if self.annotate.suffix == "" or self.annotate.is_dir() \
            else self.annotate.parent
        try:
            top.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise FaceAttrError(f"--annotate {self.annotate}: cannot write there "
                                f"({e.strerror or e})") from None
        if not os.access(top, os.W_OK):
            raise FaceAttrError(f"--annotate {self.annotate}: cannot write there (read-only)")

    def _results(self, photos: list[Path], videos: list[Path]):
        """One :class:`~faceattr.results.Result` per input, photos first; a video is one input
        (all its frames' faces, then its tracks), written at once, so an interrupted run redoes
        it whole."""
        from faceattr.inference.video import video_result

        yield from self.rec.iter_predict(photos, batch_size=self.batch_size)
        for v in videos:
            yield video_result(self.rec, v, self.options.fps, self.batch_size)


def run_on_ray(files: list[Path], errors: list[str], output: Path | None, fmt: str,
               options: PredictOptions, address: str, overwrite: bool) -> int:
    """``predict --ray``: the job on a Ray cluster (or a local instance), Parquet out; the exit
    status is 1 when any input failed (there, or before reading)."""
    from faceattr.inference.base import is_bundled_name
    from faceattr.inference.distributed import predict_on_ray

    if not output or fmt != "parquet":
        raise FaceAttrError("--ray writes Parquet: give --output DIR (and no other --format)")
    if options.model is not None and not is_bundled_name(options.model):
        options = options.with_(model=str(Path(options.model).resolve()))
    started = time.perf_counter()
    parts, failed = predict_on_ray([str(f.resolve()) for f in files], output, options,
                                   None if address == "local" else address, overwrite)
    seconds = time.perf_counter() - started
    note(f"done on Ray: {len(files)} inputs in {parts} Parquet parts under {output}, "
         f"{len(files) / seconds:.0f} inputs/s; {failed} failed")
    if failed:
        note(f"{failed} of {len(files)} inputs failed (their rows carry the error)")
    return 1 if errors or failed else 0
