"""``faceattr prepare``: decode, frame and resize a labelled dataset once into a cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceattr.cli.common import (
    add_dataset_options,
    add_detector_option,
    dataset_from_args,
    positive_int,
)


def add(sub) -> None:
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.data.cache import prepare

    ds = dataset_from_args(args)
    summary = prepare(ds, args.out, size=args.size, workers=args.workers, force=args.force,
                      progress=not args.quiet, detector=args.detector if args.detect else None)
    for msg in summary.failures[:5]:
        print(f"skipped: {msg}", file=sys.stderr)
    print(summary.line(args.out))
    return 0
