"""The ``faceattr`` command line: one subcommand per stage of the pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceattr.errors import FaceAttrError


def add_dataset_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    """The options that name a dataset: ``--images --labels [--partition --split --framing]``."""
    g = p.add_argument_group("dataset")
    g.add_argument("--images", type=Path, required=required, help="folder of face images")
    g.add_argument("--labels", type=Path, required=required,
                   help="CelebA attribute file (list_attr_celeba.txt format) or CSV")
    g.add_argument("--partition", type=Path, help="CelebA partition file (list_eval_partition.txt)")
    g.add_argument("--split", default="all", choices=["train", "val", "test", "all"])
    g.add_argument("--framing", help="source framing (see 'faceattr framings'); default: crop")
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


def cmd_prepare(args: argparse.Namespace) -> int:
    from faceattr.data.cache import prepare

    ds = dataset_from_args(args)
    summary = prepare(ds, args.out, size=args.size, workers=args.workers, force=args.force,
                      progress=not args.quiet)
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


def build_parser() -> argparse.ArgumentParser:
    from faceattr import __version__

    parser = argparse.ArgumentParser(
        prog="faceattr", description="Face attribute recognition (CNN + bidirectional LSTM).")
    parser.add_argument("--version", action="version", version=f"faceattr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("prepare", help="decode, frame and resize a dataset into a cache")
    add_dataset_options(p)
    p.add_argument("--out", type=Path, required=True, help="cache folder to write")
    p.add_argument("--size", type=int, default=64, help="side of the cached face square (px)")
    p.add_argument("--workers", type=int, default=None, help="decoding processes")
    p.add_argument("--force", action="store_true", help="rebuild even if a cache exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("framings", help="list the known source framings")
    p.set_defaults(func=cmd_framings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FaceAttrError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; work done so far is kept", file=sys.stderr)
        return 130
