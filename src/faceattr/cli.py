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


def cmd_train(args: argparse.Namespace) -> int:
    from faceattr.training.config import load_config
    from faceattr.training.train import train

    overrides = list(args.set or [])
    if args.train:
        overrides.append("data.train=" + repr([str(p) for p in args.train]).replace("'", '"'))
    cfg = load_config(args.config, overrides)
    result = train(cfg, args.out, resume=args.resume, progress=not args.quiet)
    if "model" in result:
        print(f"trained {result['epochs']} epochs; best validation mean accuracy "
              f"{result['best_val_mean_accuracy']:.2%}; model: {result['model']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from faceattr.evaluation.report import evaluate, format_report, write_chart, write_json
    from faceattr.inference.engine import Engine

    engine = Engine(args.model)
    ds = dataset_from_args(args)
    report = evaluate(engine, ds, threshold=args.threshold, mirror=args.mirror)
    for msg in report["skipped"][:5]:
        print(f"skipped: {msg}", file=sys.stderr)
    print(format_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    if args.chart:
        write_chart(report, args.chart)
        print(f"wrote {args.chart}")
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

    p = sub.add_parser("train", help="train a model on prepared caches")
    p.add_argument("--config", type=Path, help="TOML config (default: the built-in default.toml)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one config value, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--train", type=Path, nargs="+", metavar="CACHE",
                   help="training caches (overrides data.train)")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, log, model)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="report accuracy and consistency on a labelled dataset")
    p.add_argument("--model", type=Path, help="model file (default: the bundled model)")
    add_dataset_options(p)
    p.add_argument("--threshold", default="tuned", help="0.5, tuned (default) or a number")
    p.add_argument("--mirror", action="store_true", help="average each image with its mirror")
    p.add_argument("--json", type=Path, help="write the full report as JSON")
    p.add_argument("--chart", type=Path, help="write a PNG chart of per-attribute accuracy")
    p.set_defaults(func=cmd_evaluate)

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
