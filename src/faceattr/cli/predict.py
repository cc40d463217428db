"""``faceattr predict``: the attributes of every face in image files, folders and tar shards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceattr.cli.common import (
    add_detection_options,
    add_model_options,
    detection_kwargs,
    input_path,
    nonempty,
    positive_float,
    positive_int,
)
from faceattr.errors import FaceAttrError


def add(sub) -> None:
    from faceattr.outputs import format_names

    p = sub.add_parser("predict", help="recognise the attributes of face images")
    p.add_argument("paths", nargs="*", type=input_path, metavar="PATH",
                   help="image files, folders or .tar shards of images")
    add_model_options(p)
    p.add_argument("--framing", type=nonempty, metavar="NAME",
                   help="inputs are face crops of this framing (no detection)")
    p.add_argument("--no-detect", action="store_true",
                   help="treat inputs as face crops (framing 'crop'); by default every face in "
                        "each picture is detected and aligned")
    add_detection_options(p)
    p.add_argument("--annotate", type=Path, metavar="DIR",
                   help="write copies of the pictures with boxes, age, expression and top "
                        "attributes under DIR (the inputs' folders kept; a .mp4 name for one "
                        "video); never onto an input, never over a file without --overwrite")
    p.add_argument("--show", metavar="NAMES",
                   help="what --annotate labels name, comma-separated: attributes (each with "
                        "its probability), age, expression (default: age, expression and the "
                        "top 4 attributes present)")
    p.add_argument("--report", type=Path, metavar="FILE.html",
                   help="write an HTML contact sheet of the faces (thumbnails, sortable and "
                        "filterable by attribute, linked to the photos) to check them by eye")
    p.add_argument("--format", choices=format_names(), default=None,
                   help="table (default), jsonl, csv, or parquet (a folder; faceattr[parquet]); "
                        "default: from the --output name")
    p.add_argument("--output", type=Path,
                   help="write results to FILE instead of stdout; with jsonl, csv or parquet "
                        "it is resumable: rerun the same command after a crash to continue")
    p.add_argument("--overwrite", action="store_true",
                   help="start --output over instead of continuing it; replace existing "
                        "--annotate files")
    p.add_argument("--files-from", metavar="LIST",
                   help="read input paths from LIST, one per line ('-': standard input)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on a Ray cluster (ADDRESS, e.g. auto) or, without ADDRESS, a "
                        "local Ray instance; writes Parquet to --output (faceattr[ray])")
    p.add_argument("--summary", action="store_true",
                   help="print each attribute's prevalence over all faces at the end")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="faces per network call (default 64)")
    p.add_argument("--fps", type=positive_float, default=5.0,
                   help="videos: frames sampled per second (default 5; faceattr[video])")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.inference.batch import (
        PredictJob,
        choose_format,
        expand_inputs,
        read_files_from,
        run_on_ray,
    )

    paths = list(args.paths) + (read_files_from(args.files_from) if args.files_from else [])
    if not paths:
        raise FaceAttrError("no inputs: name image files, folders or tar shards, or "
                            "--files-from LIST")
    files, errors = expand_inputs(paths)
    fmt = choose_format(args.format or ("parquet" if args.ray else None), args.output, files,
                        args.overwrite)
    from faceattr.preprocess.video import is_video_name

    if args.annotate is not None and is_video_name(args.annotate.name):
        if len(files) != 1 or not is_video_name(files[0].name):
            raise FaceAttrError(f"--annotate {args.annotate}: a video file takes one video "
                                "input; name a folder to annotate several inputs")
    elif args.annotate is not None and args.annotate.exists() and not args.annotate.is_dir():
        raise FaceAttrError(f"--annotate {args.annotate}: a file; --annotate names a folder "
                            "to write the annotated pictures in (or a .mp4 for one video)")
    if fmt == "parquet":
        from faceattr.outputs.parquet import pyarrow_parquet

        pyarrow_parquet()  # missing pyarrow: say so before any work
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not files:  # (each input's own error said it; else this)
        if not errors:
            print("error: no image files to read", file=sys.stderr)
        return 2
    from faceattr.inference.options import PredictOptions

    options = PredictOptions(model=args.model, framing=args.framing, threshold=args.threshold,
                             mirror=args.mirror, backend=args.backend,
                             detect=not args.no_detect and args.framing is None, fps=args.fps,
                             batch_size=args.batch_size, **detection_kwargs(args))
    if args.ray is not None and (args.report is not None or args.annotate is not None):
        raise FaceAttrError("--report and --annotate run here, not on Ray: drop --ray or them")
    if args.ray is not None:
        return run_on_ray(files, errors, args.output, fmt, options, args.ray, args.overwrite)
    if args.show is not None and args.annotate is None:
        raise FaceAttrError("--show chooses what --annotate draws: give --annotate DIR too")
    rec = options.recognizer(threshold_name="--threshold")
    show = None
    if args.show is not None:
        from faceattr.inference.annotate import check_show, special

        show = check_show(args.show.split(","), rec.attributes, special(rec))
    return PredictJob(rec, files, errors, fmt, args.output, args.overwrite, args.annotate,
                      args.summary, options, show, args.report).run()
