"""What the commands share: the parser class, argument types, common options."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from faceattr.errors import FaceAttrError

MODEL_HELP = ("a bundled model by name: accurate (the default: the better answers on photos) or "
              "fast (for bulk jobs on crops, several times the faces/s), or a model file")


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
    if not 0 <= v < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be a number of at least 0")
    return v


def in_range(lo: float, hi: float, kind: type = float):
    """argparse type: a number from ``lo`` to ``hi``."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{text} must be between {lo} and {hi}")
        return v
    return parse


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
    p.add_argument("--detector-score", type=in_range(0.0, 1.0), metavar="X",
                   help="the detector's score threshold (default: the detector's own; "
                        "yunet 0.6)")
    p.add_argument("--detect-size", type=in_range(64, 4096, int), metavar="PX",
                   help="yunet: the longest side a picture is scanned at (default 1280; "
                        "faces under ~1/40 of it are missed; a smaller picture is scanned at "
                        "its own size, at least 320, and again at PX when that finds no face "
                        "or only small ones)")


def detection_kwargs(args: argparse.Namespace) -> dict:
    """The detection settings; refuses those that would have no effect."""
    from faceattr.preprocess.faces import MIN_FACE

    if args.detect_size is not None and args.detector != "yunet":
        raise FaceAttrError(f"--detect-size applies to the yunet detector only, not "
                            f"{args.detector}")
    if getattr(args, "no_detect", False) or getattr(args, "framing", None):
        given = [opt for opt, v in (("--detector-score", args.detector_score),
                                    ("--detect-size", args.detect_size),
                                    ("--min-face", None if args.min_face == MIN_FACE
                                     else args.min_face)) if v is not None]
        if given:
            raise FaceAttrError(f"{', '.join(given)}: no effect without detection (--no-detect "
                                "or --framing takes every input as a face crop)")
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
                   help="the split to use: by --partition, or by the labels' own split "
                        "column (UTKFace's and FER+'s labels.csv) (default: all)")
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


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--threshold``, ``--mirror``, ``--backend``: evaluate and predict."""
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--threshold", default="0.5",
                   help="0.5 (default: the softmax argmax), tuned (per attribute) or a number")
    p.add_argument("--mirror", action="store_true", help="average each image with its mirror")
    p.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto",
                   help="auto (default): onnxruntime for bundled models and .onnx files, "
                        "PyTorch for .safetensors files (needs faceattr[train])")
