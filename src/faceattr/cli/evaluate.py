"""``faceattr evaluate``: accuracy, calibration, consistency and per-group tables on a labelled
dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceattr.cli.common import (
    add_dataset_options,
    add_detector_option,
    add_model_options,
    dataset_from_args,
)
from faceattr.errors import FaceAttrError


def add(sub) -> None:
    p = sub.add_parser("evaluate", help="report accuracy and consistency on a labelled dataset")
    add_model_options(p)
    add_dataset_options(p)
    p.add_argument("--json", type=Path, help="write the full report as JSON")
    p.add_argument("--chart", type=Path,
                   help="write a PNG chart: per-attribute accuracy and a reliability diagram")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --json or --chart file")
    p.add_argument("--by", action="append", metavar="ATTRIBUTE",
                   help="also the accuracy of the faces with and without ATTRIBUTE (its true "
                        "label), and the gap, e.g. --by Male --by Young (repeatable); on age "
                        "and expression data a group column: --by gender --by race")
    p.add_argument("--detect", action="store_true",
                   help="go through face detection and landmark alignment; "
                        "images with no face found fall back to --framing")
    add_detector_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.evaluation.report import (
        evaluate,
        format_markdown,
        format_report,
        write_chart,
        write_json,
    )
    from faceattr.inference.backends import load_engine
    from faceattr.storage.writes import check_output

    inputs = [p for p in (args.labels, args.partition, args.images, args.model and Path(args.model))
              if p is not None]
    for opt, path in (("--json", args.json), ("--chart", args.chart)):
        if path is not None:
            check_output(path, opt, inputs, args.overwrite)
    if args.json is not None and args.chart is not None and args.json == args.chart:
        raise FaceAttrError(f"--json and --chart both name {args.json}; give two files")
    if args.chart:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise FaceAttrError("--chart needs matplotlib: pip install 'faceattr[chart]'") \
                from None
    engine = load_engine(args.model, args.backend)
    ds = dataset_from_args(args)
    if not ds.attributes:  # an age / expression set
        return run_targets(args, engine, ds)
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


def run_targets(args: argparse.Namespace, engine, ds) -> int:
    """Age and expression data: the age error and expression figures."""
    from faceattr.evaluation.age_expression import evaluate_targets, format_targets
    from faceattr.evaluation.report import write_json

    if args.chart or args.markdown:
        raise FaceAttrError("--chart and --markdown are for attribute data; age and expression "
                            "data give the text report and --json")
    report = evaluate_targets(engine, ds, mirror=args.mirror,
                              detect=args.detector if args.detect else False, progress=True,
                              by=args.by)
    for msg in report["skipped"][:5]:
        print(f"skipped: {msg}", file=sys.stderr)
    if args.json:
        write_json(report, args.json)
    print(format_targets(report))
    if args.json:
        print(f"wrote {args.json}")
    return 0
