"""The ``faceattr`` command line: one subcommand per stage of the pipeline."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from faceattr.errors import FaceAttrError

MODEL_HELP = "a bundled model by name (fast) or a model file (default: fast)"


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``error: faceattr CMD: ...``), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def nonempty(text: str) -> str:
    """argparse type: a string that is not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value names nothing")
    return text


def input_path(text: str) -> Path:
    """argparse type: a path that is not empty (``""`` would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file (use . for this folder)")
    return Path(text)


def positive_float(text: str) -> float:
    """argparse type: a number over 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{v} must be a number over 0")
    return v


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1..65535."""
    v = positive_int(text)
    if v > 65535:
        raise argparse.ArgumentTypeError(f"{v} is not a TCP port (1-65535)")
    return v


def non_negative(text: str) -> float:
    """argparse type: a number of at least 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{v} must be at least 0")
    return v


def add_detector_option(p: argparse.ArgumentParser) -> None:
    from faceattr.preprocess.detectors import DEFAULT_DETECTOR, detector_names

    p.add_argument("--detector", choices=detector_names(), default=DEFAULT_DETECTOR,
                   help=f"face detector (default: {DEFAULT_DETECTOR}; hog needs faceattr[hog])")


def add_detection_options(p: argparse.ArgumentParser) -> None:
    """``--detector``, ``--min-face``, ``--detector-score``: predict and serve."""
    from faceattr.preprocess.faces import MIN_FACE

    add_detector_option(p)
    p.add_argument("--min-face", type=non_negative, default=MIN_FACE, metavar="PX",
                   help=f"faces narrower than PX pixels are reported as skipped, without "
                        f"attributes (default: {MIN_FACE})")
    p.add_argument("--detector-score", type=non_negative, metavar="X",
                   help="the detector's score threshold (default: the detector's own; "
                        "yunet 0.6)")
    p.add_argument("--detect-size", type=positive_int, metavar="PX",
                   help="yunet: the longest side a picture is scanned at (default 1280; "
                        "faces under ~1/40 of it are missed; a smaller picture is scanned at "
                        "its own size, at least 640)")


def detection_kwargs(args: argparse.Namespace) -> dict:
    return {"detector": args.detector, "min_face": args.min_face,
            "detector_score": args.detector_score, "detect_size": args.detect_size}


def add_dataset_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    """The options that name a dataset: ``--images --labels [--partition --split --framing]``."""
    g = p.add_argument_group("dataset")
    g.add_argument("--images", type=Path, required=required,
                   help="folder of face images, a .tar of images, or a folder of .tar shards")
    g.add_argument("--labels", type=Path, required=required,
                   help="CelebA attribute file (list_attr_celeba.txt format) or CSV")
    g.add_argument("--partition", type=Path, help="CelebA partition file (list_eval_partition.txt)")
    g.add_argument("--split", default="all", choices=["train", "val", "test", "all"],
                   help="with --partition: the official split to use (default: all)")
    g.add_argument("--framing", type=nonempty, metavar="NAME",
                   help="source framing (see 'faceattr framings'); default: crop")
    g.add_argument("--skip-missing", action="store_true",
                   help="leave out images that have no label (or partition) row")


def dataset_from_args(args: argparse.Namespace):
    from faceattr.data.dataset import DatasetSpec, resolve

    spec = DatasetSpec(args.images, args.labels, args.partition, args.split, args.framing,
                       args.skip_missing)
    ds = resolve(spec)
    for note in ds.notes:
        print(f"note: {note}", file=sys.stderr)
    return ds


@contextlib.contextmanager
def needs_train_extra(command: str) -> Iterator[None]:
    """Turn a missing PyTorch (or onnx) into one line that names the extra to install."""
    try:
        yield
    except ImportError as e:
        raise FaceAttrError(f"faceattr {command} needs {e.name or 'PyTorch'}, which the base "
                            "install leaves out: pip install 'faceattr[train]'") from None


def cmd_prepare(args: argparse.Namespace) -> int:
    from faceattr.data.cache import prepare

    ds = dataset_from_args(args)
    summary = prepare(ds, args.out, size=args.size, workers=args.workers, force=args.force,
                      progress=not args.quiet, detector=args.detector if args.detect else None)
    for msg in summary.failures[:5]:
        print(f"skipped: {msg}", file=sys.stderr)
    print(summary.line(args.out))
    return 0


def cmd_framings(args: argparse.Namespace) -> int:
    from faceattr.preprocess.framing import DEFAULT_FRAMING, framings

    for f in framings().values():
        mark = " (default)" if f.name == DEFAULT_FRAMING else ""
        print(f"{f.name:16s} cx={f.cx:.3f} cy={f.cy:.3f} size={f.size:.3f}  "
              f"{f.description}{mark}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import json

    from faceattr.training.config import load_config, resume_config

    with needs_train_extra("train"):
        from faceattr.training.train import train

    overrides = list(args.set or [])
    if args.train:
        overrides.append(f"data.train={json.dumps([str(p) for p in args.train])}")
    if args.resume:
        if args.config:
            raise FaceAttrError(f"--resume continues with the settings in {args.out}/config.json;"
                                " drop --config (a --set changes one setting deliberately)")
        cfg, changes = resume_config(args.out, overrides)
        if changes:
            with (args.out / "changes.txt").open("a", encoding="utf-8") as f:
                f.writelines(f"resumed with {c}\n" for c in changes)
            print(f"note: resuming with changed settings ({'; '.join(changes)}), recorded in "
                  f"{args.out / 'changes.txt'}", file=sys.stderr)
    else:
        cfg = load_config(args.config, overrides)
    result = train(cfg, args.out, resume=args.resume, progress=not args.quiet,
                   time_limit=args.time_limit)
    if "model" in result:
        print(f"trained {result['epochs']} epochs; best validation mean accuracy "
              f"{result['best_val_mean_accuracy']:.2%}; model: {result['model']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from faceattr.evaluation.report import (
        evaluate,
        format_markdown,
        format_report,
        write_chart,
        write_json,
    )
    from faceattr.inference.backends import load_engine

    for opt, path in (("--json", args.json), ("--chart", args.chart)):
        if path is not None and path.is_dir():
            raise FaceAttrError(f"{opt} {path}: is a folder; name a file")
    if args.chart:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise FaceAttrError("--chart needs matplotlib: pip install 'faceattr[chart]'") \
                from None
    engine = load_engine(args.model, args.backend)
    ds = dataset_from_args(args)
    report = evaluate(engine, ds, threshold=args.threshold, mirror=args.mirror,
                      detect=args.detector if args.detect else False, progress=True,
                      by=args.by)
    for msg in report["skipped"][:5]:
        print(f"skipped: {msg}", file=sys.stderr)
    # the files first: a reader that stops early (| head) must not cost them
    if args.json:
        write_json(report, args.json)
    if args.chart:
        write_chart(report, args.chart)
    print(format_markdown(report) if args.markdown else format_report(report))
    for path in (args.json, args.chart):
        if path:
            print(f"wrote {path}")
    return 0


def expand_inputs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, folders (recursively) and tar shards expanded to their images, each input
    once however often it is named; plus errors for missing paths. Files in a folder that are
    not images by their extension are counted in a note, never dropped silently."""
    from faceattr.data.shards import IMAGE_EXTENSIONS, is_tar_name, scan_images

    files, errors, seen, repeated = [], [], set(), 0
    for p in paths:
        if p.is_dir() or (p.is_file() and is_tar_name(p.name)):
            found = [p / rel for rel in scan_images(p)]
            if p.is_dir():
                others = [f for f in p.rglob("*") if f.is_file() and not is_tar_name(f.name)
                          and f.suffix.lower() not in IMAGE_EXTENSIONS]
                if others:
                    kinds = sorted({f.suffix.lower() or "(no extension)" for f in others})
                    print(f"note: {len(others)} files in {p} are not read (not images by "
                          f"their name: {', '.join(kinds[:6])}; read: "
                          f"{', '.join(sorted(IMAGE_EXTENSIONS))}); name a file to read it "
                          "anyway", file=sys.stderr)
        elif p.exists():
            found = [p]
        else:
            errors.append(f"{p}: no such file or folder")
            continue
        for f in found:
            key = os.path.realpath(f) if f.exists() else os.path.abspath(f)
            if key in seen:
                repeated += 1
                continue
            seen.add(key)
            files.append(f)
    if repeated:
        print(f"note: {repeated} inputs were named more than once; each is read once",
              file=sys.stderr)
    return files, errors


OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
                  ".txt": "table"}


def output_format(args: argparse.Namespace, files: list[Path]) -> str:
    """The format to write, from ``--format`` or the ``--output`` name; refuses a mismatch, an
    output that is one of the inputs, and an existing table file (before any work)."""
    fmt = args.format
    if getattr(args, "ray", None) is not None and fmt is None:
        fmt = "parquet"  # what Ray mode writes
    if args.output:
        out = os.path.realpath(args.output)
        if any(f.exists() and os.path.realpath(f) == out for f in files):
            raise FaceAttrError(f"--output {args.output} is one of the inputs; choose another "
                                "name")
        implied = OUTPUT_FORMATS.get(args.output.suffix.lower())
        if fmt is None:
            if implied is None and args.output.is_dir():
                raise FaceAttrError(f"--output {args.output}: is a folder; give --format parquet "
                                    "to write Parquet parts there, or name a file")
            if implied is None:
                raise FaceAttrError(
                    f"--output {args.output}: give --format (table, jsonl, csv or parquet); "
                    f"it is taken from the name only for {', '.join(OUTPUT_FORMATS)}")
            fmt = implied
        elif implied is not None and implied != fmt:
            raise FaceAttrError(f"--output {args.output} is named as {implied}, but --format "
                                f"{fmt}: use a matching name or format")
        if fmt == "table" and args.output.exists() and not args.overwrite:
            raise FaceAttrError(f"--output {args.output} exists; pass --overwrite to replace "
                                "it (a table output is written whole, it does not resume)")
    return fmt or "table"


@contextlib.contextmanager
def safe_output(path: Path) -> Iterator[TextIO]:
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
        print(f"note: {path} left as it was; results so far are in {tmp}", file=sys.stderr)
        raise
    os.replace(tmp, path)


def read_files_from(source: str) -> list[Path]:
    """``--files-from LIST``: one path per line (``-``: standard input); blank lines skipped."""
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
            print(f"error: --files-from {source} line {k}: not a path (control characters: "
                  f"{shown[:60]!r})", file=sys.stderr)
            continue
        paths.append(Path(name))
    return paths


def by_input(preds):
    """Group consecutive predictions of the same input (one per face) into lists."""
    group: list = []
    for p in preds:
        if group and (p.face_index == 0 or p.source != group[0].source):
            yield group
            group = []
        group.append(p)
    if group:
        yield group


def run_settings(rec, args: argparse.Namespace) -> dict:
    """What makes two runs' results comparable (recorded beside a resumable --output)."""
    import hashlib

    digest = hashlib.sha256(rec.engine.path.read_bytes()).hexdigest()[:16]
    return {"model": rec.engine.path.name, "model_sha256": digest,
            "backend": type(rec.engine).__name__, "threshold": str(args.threshold),
            "mirror": bool(args.mirror),
            "detect": rec.detector.name if rec.detector is not None else False,
            "min_face": rec.pipeline.min_face, "detector_score": args.detector_score,
            "framing": rec.framing.name}


def print_prevalence(rows, attributes: list[str]) -> None:
    """``--summary``: the share of faces where each attribute is decided present."""
    import numpy as np

    present = np.zeros(len(attributes))
    faces = 0
    for r in rows:
        if r.get("error") or r.get("skipped"):
            continue
        faces += 1
        present += [int(r[a]) for a in attributes]
    print(f"prevalence over {faces} faces:", file=sys.stderr)
    for a, v in sorted(zip(attributes, present / max(faces, 1)), key=lambda x: -x[1]):
        print(f"  {a:22s} {v:7.2%}", file=sys.stderr)


def predict_ray(args: argparse.Namespace, files: list[Path], errors: list[str]) -> int:
    """``predict --ray``: the job on a Ray cluster (or a local instance), Parquet out."""
    import time

    from faceattr.inference.base import is_bundled_name
    from faceattr.inference.distributed import predict_on_ray

    if not args.output or args.format not in ("table", "parquet"):
        raise FaceAttrError("--ray writes Parquet: give --output DIR (and no other --format)")
    model = args.model if is_bundled_name(args.model) else str(Path(args.model).resolve())
    options = {"model": model, "framing": args.framing, "threshold": args.threshold,
               "mirror": args.mirror, "backend": args.backend,
               "detect": False if (args.no_detect or args.framing) else None,
               **detection_kwargs(args)}
    address = None if args.ray == "local" else args.ray
    started = time.perf_counter()
    parts = predict_on_ray([str(f.resolve()) for f in files], args.output, options, address,
                           args.batch_size, args.overwrite)
    seconds = time.perf_counter() - started
    print(f"done on Ray: {len(files)} images in {parts} Parquet parts under {args.output}, "
          f"{len(files) / seconds:.0f} images/s", file=sys.stderr)
    return 1 if errors else 0


def cmd_predict(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from faceattr.inference.output import write_csv, write_jsonl, write_table
    from faceattr.inference.recognizer import Recognizer
    from faceattr.inference.results import ResultsFile, row_of

    paths = list(args.paths) + (read_files_from(args.files_from) if args.files_from else [])
    if not paths:
        raise FaceAttrError("no inputs: name image files, folders or tar shards, or "
                            "--files-from LIST")
    files, errors = expand_inputs(paths)
    args.format = output_format(args, files)
    if args.annotate is not None and args.annotate.exists() and not args.annotate.is_dir():
        raise FaceAttrError(f"--annotate {args.annotate}: a file; --annotate names a folder "
                            "to write the annotated pictures in")
    if args.format == "parquet" and not args.output:
        raise FaceAttrError("--format parquet writes a folder: give --output DIR")
    if args.format == "parquet":
        from faceattr.inference.results import _pyarrow_parquet

        _pyarrow_parquet()  # missing pyarrow: say so before any work
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not files:
        print("error: no image files to read", file=sys.stderr)
        return 2
    if args.ray is not None:
        return predict_ray(args, files, errors)
    detect = not args.no_detect and args.framing is None
    rec = Recognizer(args.model, framing=args.framing, threshold=args.threshold,
                     mirror=args.mirror, backend=args.backend, detect=detect,
                     **detection_kwargs(args))
    by_file: dict[str, list] = {}
    failed, faces, small, table_rows, summary_rows = len(errors), 0, 0, [], []
    with contextlib.ExitStack() as stack:
        results = None
        if args.output and args.format != "table":
            results = stack.enter_context(ResultsFile(
                args.output, args.format, rec.attributes, run_settings(rec, args),
                overwrite=args.overwrite))
            for what in results.dropped:
                print(f"note: {args.output}: dropped {what}; its inputs are done again",
                      file=sys.stderr)
            todo = [f for f in files if not results.is_done(str(f))]
            if len(todo) < len(files):
                print(f"note: {len(files) - len(todo)} inputs already in {args.output}; "
                      "continuing with the rest", file=sys.stderr)
            out = None
        else:
            todo = files
            out = stack.enter_context(safe_output(args.output)) if args.output else sys.stdout
        bar = stack.enter_context(tqdm(total=len(todo), unit="img", file=sys.stderr,
                                       disable=len(todo) <= args.batch_size))
        started = time.perf_counter()
        first = True
        for group in by_input(rec.iter_predict(todo, batch_size=args.batch_size)):
            bar.update(1)
            for p in group:
                if not p.ok:
                    failed += 1
                    print(f"skipped: {p.error}", file=sys.stderr)
                elif p.skipped:
                    small += 1
                    if args.annotate:
                        by_file.setdefault(p.source, []).append(p)
                else:
                    faces += 1
                    if args.annotate:
                        by_file.setdefault(p.source, []).append(p)
            if args.summary and results is None:
                summary_rows += [row_of(p, rec.attributes) for p in group]
            if results is not None:
                results.add(group)
            elif args.format == "jsonl":
                write_jsonl(group, out)
            elif args.format == "csv":
                write_csv(group, rec.attributes, out, header=first)
                first = False
            else:
                table_rows += group
        if args.format == "table":
            write_table(table_rows, dict(zip(rec.attributes, map(float, rec.thresholds))), out)
        seconds = time.perf_counter() - started
        if args.summary:
            print_prevalence(results.rows() if results is not None else summary_rows,
                             rec.attributes)
    if args.annotate:
        from faceattr.inference.annotate import annotate

        for source, preds in by_file.items():
            annotate(Path(source), preds, args.annotate)
        print(f"annotated {len(by_file)} pictures in {args.annotate}", file=sys.stderr)
    if args.output:
        print(f"wrote results to {args.output}", file=sys.stderr)
    if len(files) > 1 or args.output:  # the closing summary of a batch job
        tiny = f" (and {small} under --min-face, skipped)" if small else ""
        print(f"done: {len(todo)} images, {faces} faces{tiny}, {failed} failed, "
              f"{len(todo) / max(seconds, 1e-9):.0f} images/s", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(todo) + len(errors)} inputs failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    with needs_train_extra("export"):
        import onnx  # noqa: F401

        from faceattr.inference.export import export_onnx
    out = export_onnx(args.model, args.onnx, opset=args.opset)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from faceattr.serving.app import serve

    serve(args.model, args.host, args.port, args.workers, **detection_kwargs(args))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from faceattr import __version__

    parser = Parser(
        prog="faceattr", description="Face attribute recognition (CNN + bidirectional LSTM).")
    parser.add_argument("--version", action="version", version=f"faceattr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("prepare", help="decode, frame and resize a dataset into a cache")
    add_dataset_options(p)
    p.add_argument("--out", type=Path, required=True, help="cache folder to write")
    p.add_argument("--size", type=positive_int, default=64,
                   help="side of the cached face square (px)")
    p.add_argument("--workers", type=positive_int, default=None, help="decoding processes")
    p.add_argument("--force", action="store_true", help="rebuild even if a cache exists")
    p.add_argument("--detect", action="store_true",
                   help="frame each image by its widest face found by --detector, aligned by "
                        "its landmarks (no face: the dataset framing)")
    add_detector_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="train a model on prepared caches")
    p.add_argument("--config", type=Path, help="TOML config (default: the built-in default.toml)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one config value, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--train", type=Path, nargs="+", metavar="CACHE",
                   help="training caches (overrides data.train)")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, log, model)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--time-limit", type=positive_float, metavar="MINUTES",
                   help="stop cleanly with a checkpoint before this many minutes (inside an "
                        "epoch if need be); --resume continues")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="report accuracy and consistency on a labelled dataset")
    p.add_argument("--model", help=MODEL_HELP)
    add_dataset_options(p)
    p.add_argument("--threshold", default="0.5",
                   help="0.5 (default: the softmax argmax), tuned (per attribute) or a number")
    p.add_argument("--mirror", action="store_true", help="average each image with its mirror")
    p.add_argument("--json", type=Path, help="write the full report as JSON")
    p.add_argument("--chart", type=Path, help="write a PNG chart of per-attribute accuracy")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--by", action="append", metavar="ATTRIBUTE",
                   help="also the accuracy of the faces with and without ATTRIBUTE (its true "
                        "label), and the gap, e.g. --by Male --by Young (repeatable)")
    p.add_argument("--detect", action="store_true",
                   help="go through face detection and landmark alignment; "
                        "images with no face found fall back to --framing")
    add_detector_option(p)
    p.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto",
                   help="auto (default): onnxruntime for bundled models and .onnx files, "
                        "PyTorch for .safetensors files (needs faceattr[train])")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="recognise the attributes of face images")
    p.add_argument("paths", nargs="*", type=input_path, metavar="PATH",
                   help="image files, folders or .tar shards of images")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--framing", type=nonempty, metavar="NAME",
                   help="inputs are face crops of this framing (no detection)")
    p.add_argument("--no-detect", action="store_true",
                   help="treat inputs as face crops (framing 'crop'); by default every face in "
                        "each picture is detected and aligned")
    add_detection_options(p)
    p.add_argument("--annotate", type=Path, metavar="DIR",
                   help="write copies of the pictures with boxes and top attributes")
    p.add_argument("--threshold", default="0.5",
                   help="0.5 (default: the softmax argmax), tuned (per attribute) or a number")
    p.add_argument("--mirror", action="store_true", help="average each image with its mirror")
    p.add_argument("--format", choices=["table", "jsonl", "csv", "parquet"], default=None,
                   help="table (default), jsonl, csv, or parquet (a folder; faceattr[parquet])")
    p.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto",
                   help="auto (default): onnxruntime for bundled models and .onnx files, "
                        "PyTorch for .safetensors files (needs faceattr[train])")
    p.add_argument("--output", type=Path,
                   help="write results to FILE instead of stdout; with jsonl, csv or parquet "
                        "it is resumable: rerun the same command after a crash to continue")
    p.add_argument("--overwrite", action="store_true",
                   help="start --output over instead of continuing it")
    p.add_argument("--files-from", metavar="LIST",
                   help="read input paths from LIST, one per line ('-': standard input)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on a Ray cluster (ADDRESS, e.g. auto) or, without ADDRESS, a "
                        "local Ray instance; writes Parquet to --output (faceattr[ray])")
    p.add_argument("--summary", action="store_true",
                   help="print each attribute's prevalence over all faces at the end")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="faces per network call (default 64)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="export a model to ONNX")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--onnx", type=Path, required=True, help="ONNX file to write")
    p.add_argument("--opset", type=positive_int, default=17,
                   help="ONNX opset version to export with (default 17)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("serve", help="start the HTTP service and web page")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0: every interface)")
    p.add_argument("--port", type=port_number, default=8000,
                   help="TCP port to listen on (default 8000)")
    p.add_argument("--workers", type=positive_int, default=4,
                   help="decoding and detection threads (the network batches across them)")
    add_detection_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("framings", help="list the known source framings")
    p.set_defaults(func=cmd_framings)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # file names that are not valid UTF-8 print safely
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # an image path after an option (predict --format jsonl a.jpg b.jpg) is still an input
    stray = [x for x in extra if x.startswith("-") and x != "-"] if args.command == "predict" \
        else extra
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if args.command == "predict":
        args.paths += [input_path(x) for x in extra]
    try:
        return int(args.func(args) or 0)
    except FaceAttrError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as e:  # a path we were told to write to or read from is unusable
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; work done so far is kept", file=sys.stderr)
        return 130
