"""``faceattr train``: train a model on prepared caches (``torchrun`` ready)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceattr.cli.common import needs_train_extra, positive_float
from faceattr.errors import FaceAttrError


def add(sub) -> None:
    p = sub.add_parser("train", help="train a model on prepared caches")
    p.add_argument("--config", type=Path, help="TOML config (default: the built-in default.toml)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one config value, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--train", type=Path, nargs="+", metavar="CACHE",
                   help="training caches (overrides data.train)")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, log, model)")
    own = p.add_argument_group(
        "your own labels", "fine-tune on a folder of images and a CSV of your attributes "
        "(file,ATTR,... with 0/1, blank = unknown; any names); the images are prepared into "
        "OUT/cache and a fixed share of them is the val split")
    own.add_argument("--images", type=Path, help="the images (a folder or a tar shard)")
    own.add_argument("--labels", type=Path, help="the CSV of labels")
    own.add_argument("--init", metavar="MODEL",
                     help="start from a bundled model (fast, accurate: its first member) or a "
                          "model file; without it the network starts from scratch")
    own.add_argument("--skip-missing", action="store_true",
                     help="leave out images that have no row in the CSV (else an error)")
    own.add_argument("--framing", metavar="NAME",
                     help="the images are face crops of this framing (default: each image's "
                          "widest face is detected and aligned)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--time-limit", type=positive_float, metavar="MINUTES",
                   help="stop cleanly with a checkpoint before this many minutes (inside an "
                        "epoch if need be); --resume continues")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from faceattr.training.config import load_config, resume_config

    with needs_train_extra("train"):
        from faceattr.training.train import train

    overrides = list(args.set or [])
    if args.train:
        overrides.append(f"data.train={json.dumps([str(p) for p in args.train])}")
    if args.images is not None or args.labels is not None or args.init is not None:
        if args.resume:
            raise FaceAttrError("--resume continues the run as it was set up: drop --images, "
                                "--labels and --init")
        if args.images is None or args.labels is None:
            raise FaceAttrError("fine-tuning on your own labels needs both --images DIR and "
                                "--labels FILE.csv")
        from faceattr.training.own_labels import own_labels_config

        cfg = own_labels_config(args.images, args.labels, args.out, args.init, args.framing,
                                args.config, overrides, progress=not args.quiet,
                                skip_missing=args.skip_missing)
    elif args.resume:
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
        print(f"trained {result['epochs']} epochs; {result['best']}; model: {result['model']}")
    return 0
