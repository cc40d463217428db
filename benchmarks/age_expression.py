"""Age and expression of the bundled models on the shared val splits, and their speed.

    python benchmarks/age_expression.py [--model NAME_OR_FILE ...] [--mirror]

For each model (default: every bundled one): on ``utkface/val-00.tar`` the age mean absolute
error, the share within 5 years, how often the 80% range holds (fitted there; then refitted on
one half and measured on the other), and the error by gender; on
``ferplus/valid-00.tar`` the accuracy against the majority vote over the eight emotions,
macro-F1 and the calibration error of the top class (ECE against the majority vote; ECE v
against the share of the ten votes the class got, what the probabilities are trained to be);
the CelebA attributes' mean accuracy on ``celeba/test-crops-dev``; and the network's faces/s
at batch 64 with ONNX Runtime on this machine's cores (the whole network: attributes, age and
expression in one call).
Baselines (data READMEs): the train mean age gives an MAE of 15.5 years; always "neutral" 37.4%.

Transfer to the canonical full framing and to colour (every UTKFace and FER+ training face has a
grey border, every FER+ face is grey): on the 4,535 CelebA val faces of
``aligned-square160-64/val-00.tar`` (full-framed, colour), the AUC of P(happiness) for the
``Smiling`` label and of the negated age for ``Young``, in colour and with the same faces
turned grey, and how far the expression answer moves when a colour face is turned grey (mean
total-variation distance between the two distributions; 0: colour is ignored).
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
from faceattr.evaluation.calibration import Z80, fit_age_sd_scale
from faceattr.evaluation.report import evaluate, frame_dataset, frame_rows
from faceattr.inference.backends import load_engine
from faceattr.inference.base import bundled_models

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for v in np.unique(score[np.diff(np.sort(score), prepend=np.nan) == 0]):
        ranks[score == v] = ranks[score == v].mean()
    pos = label.astype(bool)
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def transfer(engine, faces: np.ndarray, labels: np.ndarray, attrs: list[str]) -> str:
    grey = np.repeat((faces.astype(np.float32) @ LUMA).round().clip(0, 255)
                     .astype(np.uint8)[..., None], 3, -1)
    c, g = engine.scores(faces), engine.scores(grey)
    smiling, young = labels[:, attrs.index("Smiling")], labels[:, attrs.index("Young")]
    out = []
    if c.expressions is not None and g.expressions is not None:
        h = engine.expressions.index("happiness")
        tv = 0.5 * np.abs(c.expressions - g.expressions).sum(1).mean()
        a, b = auc(c.expressions[:, h], smiling), auc(g.expressions[:, h], smiling)
        out.append(f"{a:.3f}/{b:.3f} {tv:5.3f}")
    else:
        out.append(f"{'-':>11s} {'-':>5s}")
    if c.age is not None and g.age is not None:
        out.append(f"{auc(-c.age, young):.3f}/{auc(-g.age, young):.3f}")
    else:
        out.append(f"{'-':>11s}")
    return " ".join(out)


HALVINGS = 20


def held_out_coverage(engine, faces: np.ndarray, true: np.ndarray, halvings: int = HALVINGS
                      ) -> tuple[float, float, float]:
    """The 80% age range is calibrated on UTKFace val, so its coverage there is 80% by
    construction: refit the SD scale on a random half of val and measure the other half
    (both ways, ``halvings`` times). Mean, lowest and highest coverage."""
    s = engine.scores(faces)
    cov = []
    for seed in range(halvings):
        idx = np.random.default_rng(seed).permutation(len(true))
        for fit, test in ((idx[::2], idx[1::2]), (idx[1::2], idx[::2])):
            k = fit_age_sd_scale(s.age[fit], s.age_sd[fit], true[fit])
            cov.append(float((np.abs(true[test] - s.age[test]) <= Z80 * k * s.age_sd[test])
                             .mean()))
    return float(np.mean(cov)), min(cov), max(cov)


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
    wide = resolve(DatasetSpec(DATA / "celeba/aligned-square160-64/val-00.tar",
                               DATA / "celeba/list_attr_celeba.txt", framing="celeba-square160"),
                   ) if (DATA / "celeba/aligned-square160-64/val-00.tar").is_file() else None
    wide_faces = wide_labels = None
    if wide is not None:
        wide_faces, wide_labels, _, _ = frame_dataset(wide, 64)
    print(f"{'model':12s} {'age MAE':>8s} {'<=5 y':>7s} {'80% range':>9s} {'MAE m/f':>11s} "
          f"{'expr acc':>9s} {'macro-F1':>8s} {'ECE':>6s} {'ECE v':>6s} {'CelebA':>7s} "
          f"{'faces/s':>8s}  "
          f"{'smile AUC c/g':>13s} {'TV':>5s} {'young AUC c/g':>13s}")
    held = []
    utk_framed: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # input size -> faces, rows read
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
        expr = f"{'-':>9s} {'-':>8s} {'-':>6s} {'-':>6s}"
        if engine.has_expression:
            e = evaluate_targets(engine, fer, mirror=args.mirror)["expression"]
            expr = (f"{e['accuracy']:9.2%} {e['macro_f1']:8.3f} {e['ece']:6.2%} "
                    f"{e['ece_votes']:6.2%}")
        name = Path(model).parent.name if Path(model).stem == "model" else Path(model).stem
        if engine.has_age and not args.mirror:
            if engine.input_size not in utk_framed:
                utk_framed[engine.input_size] = frame_rows(utk, engine.input_size)[:2]
            utk_faces, keep = utk_framed[engine.input_size]
            held.append((name, *held_out_coverage(engine, utk_faces, utk.targets["age"][keep])))
        moved = "" if wide is None else transfer(engine, wide_faces, wide_labels,
                                                 list(wide.attributes))
        print(f"{name:12s} {age} {expr} {c:7.2%} {speed:8.0f}  {moved}")
    print(f"(val: {len(utk)} UTKFace faces, {len(fer)} FER+ faces with an emotion majority; "
          f"CelebA: {len(crops)} test crops, threshold 0.5)")
    for name, mean, lo, hi in held:
        print(f"{name}: the 80% age range refitted on one half of UTKFace val holds {mean:.2%} "
              f"of the other half's ages ({lo:.2%}-{hi:.2%} over {2 * HALVINGS} halves)")


if __name__ == "__main__":
    main()
