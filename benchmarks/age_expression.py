"""Age and expression of the bundled models on the shared val splits, and their speed.

    python benchmarks/age_expression.py [--model NAME_OR_FILE ...] [--mirror]

For each model (default: every bundled one): on ``utkface/val-00.tar`` the age mean absolute
error, the share within 5 years, how often the 80% range holds, and the error by gender; on
``ferplus/valid-00.tar`` the accuracy against the majority vote over the eight emotions,
macro-F1 and the calibration error (ECE); the CelebA attributes' mean accuracy on
``celeba/test-crops-dev``; and the network's faces/s at batch 64 with ONNX Runtime on this
machine's cores (the whole network: attributes, age and expression in one call).
Baselines (data READMEs): the train mean age gives an MAE of 15.5 years; always "neutral" 37.4%.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA, rate
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.evaluation.age_expression import evaluate_targets
from faceattr.evaluation.report import evaluate
from faceattr.inference.backends import load_engine
from faceattr.inference.base import bundled_models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", help="bundled names or .onnx/.safetensors files")
    ap.add_argument("--mirror", action="store_true", help="average each face with its mirror")
    args = ap.parse_args()
    utk = resolve(DatasetSpec(DATA / "utkface/val-00.tar", DATA / "utkface/labels.csv",
                              split="val", framing="utkface"))
    fer = resolve(DatasetSpec(DATA / "ferplus/valid-00.tar", DATA / "ferplus/labels.csv",
                              split="val", framing="ferplus"))
    crops = resolve(DatasetSpec(DATA / "celeba/test-crops-dev",
                                DATA / "celeba/list_attr_celeba.txt"))
    print(f"{'model':12s} {'age MAE':>8s} {'<=5 y':>7s} {'80% range':>9s} {'MAE m/f':>11s} "
          f"{'expr acc':>9s} {'macro-F1':>8s} {'ECE':>6s} {'CelebA':>7s} {'faces/s':>8s}")
    for model in args.model or sorted(bundled_models()):
        engine = load_engine(model, "auto" if Path(model).exists() else "onnx",
                             threads=os.cpu_count())
        c = evaluate(engine, crops, mirror=args.mirror)["mean_accuracy"]
        faces = np.random.default_rng(0).integers(0, 255, (64, engine.input_size,
                                                           engine.input_size, 3), np.uint8)
        speed = rate(lambda e=engine, f=faces: len(e.scores(f, 64, mirror=args.mirror)),
                     min_seconds=4)
        age = expr = f"{'-':>8s} {'-':>7s} {'-':>9s} {'-':>11s}"
        if engine.has_age:
            a = evaluate_targets(engine, utk, mirror=args.mirror, by=["gender"])["age"]
            g = a["groups"]["gender"]
            age = (f"{a['mae']:8.2f} {a['within_5']:7.2%} {a['range_coverage']:9.2%} "
                   f"{g['male']['mae']:5.2f}/{g['female']['mae']:5.2f}")
        expr = f"{'-':>9s} {'-':>8s} {'-':>6s}"
        if engine.has_expression:
            e = evaluate_targets(engine, fer, mirror=args.mirror)["expression"]
            expr = f"{e['accuracy']:9.2%} {e['macro_f1']:8.3f} {e['ece']:6.2%}"
        name = Path(model).parent.name if Path(model).stem == "model" else Path(model).stem
        print(f"{name:12s} {age} {expr} {c:7.2%} {speed:8.0f}")
    print(f"(val: {len(utk)} UTKFace faces, {len(fer)} FER+ faces with an emotion majority; "
          f"CelebA: {len(crops)} test crops, threshold 0.5)")


if __name__ == "__main__":
    main()
