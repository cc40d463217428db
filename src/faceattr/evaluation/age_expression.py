"""``faceattr evaluate`` on age and expression data (UTKFace's and FER+'s ``labels.csv``, or a
CSV with ``file,age`` or ``file,expression``): age error, expression accuracy, calibration."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceattr.data.dataset import Dataset
from faceattr.data.labels import EXPRESSIONS
from faceattr.errors import FaceAttrError
from faceattr.evaluation.calibration import Z80, multiclass_ece, vote_share_ece
from faceattr.evaluation.report import frame_rows
from faceattr.inference.base import EngineBase
from faceattr.preprocess.detectors import DEFAULT_DETECTOR

# UTKFace's group codes, for the per-group tables
GROUP_NAMES = {"gender": {0: "male", 1: "female"},
               "race": {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}}


def age_metrics(pred: np.ndarray, true: np.ndarray, sd: np.ndarray | None = None
                ) -> dict[str, Any]:
    """Mean absolute error, median error, the share within 5 years and (with ``sd``) the share
    inside the 80% range and the mean SD."""
    err = np.abs(np.asarray(pred, np.float64) - true)
    out = {"faces": len(err), "mae": float(err.mean()) if len(err) else float("nan"),
           "median_error": float(np.median(err)) if len(err) else float("nan"),
           "within_5": float((err <= 5).mean()) if len(err) else float("nan")}
    if sd is not None and len(err):
        out["range_coverage"] = float((err <= Z80 * sd).mean())
        out["mean_sd"] = float(np.mean(sd))
    return out


def confusion(true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts: rows the true class, columns the predicted one."""
    return np.bincount(true * k + pred, minlength=k * k).reshape(k, k)


def expression_metrics(probs: np.ndarray, votes: np.ndarray, classes: list[str]
                       ) -> dict[str, Any]:
    """Against the majority vote: accuracy, macro-F1, per-class recall and F1, the confusion
    matrix and the expected calibration error of the top class; and that error against the
    vote share (``ece_votes``: the models are trained on vote distributions, so a probability
    estimates the share of annotators who would pick the emotion, which is lower than the
    chance that it is the majority)."""
    true, pred = votes.argmax(1), probs.argmax(1)
    k = len(classes)
    cm = confusion(true, pred, k)
    tp = np.diag(cm).astype(np.float64)
    recall = tp / np.maximum(cm.sum(1), 1)
    precision = tp / np.maximum(cm.sum(0), 1)
    f1 = np.where(recall + precision > 0, 2 * recall * precision /
                  np.maximum(recall + precision, 1e-12), 0.0)
    present = cm.sum(1) > 0
    return {"faces": len(true), "accuracy": float((true == pred).mean()),
            "macro_f1": float(f1[present].mean()), "ece": multiclass_ece(probs, true),
            "ece_votes": vote_share_ece(probs, votes),
            "majority_baseline": float(np.bincount(true, minlength=k).max() / max(len(true), 1)),
            "per_class": {c: {"faces": int(cm[i].sum()), "recall": float(recall[i]),
                              "f1": float(f1[i])} for i, c in enumerate(classes)},
            "confusion": {"classes": classes, "counts": cm.tolist()}}


def evaluate_targets(engine: EngineBase, ds: Dataset, mirror: bool = False, workers: int = 2,
                     detect: bool | str = False, progress: bool = False,
                     by: list[str] | None = None) -> dict[str, Any]:
    """Age and/or expression figures of ``engine`` on ``ds`` (by decade of true age and by the
    dataset's group columns named in ``by``: gender, race)."""
    has_age, has_expr = "age" in ds.targets, "expression" in ds.targets
    if has_age and not engine.has_age:
        raise FaceAttrError(f"{engine.path}: this model gives no age (the bundled models do; "
                            "train one with an age cache)")
    if has_expr and not engine.has_expression:
        raise FaceAttrError(f"{engine.path}: this model gives no expression")
    if has_expr and engine.expressions != list(EXPRESSIONS):
        raise FaceAttrError(f"{engine.path}: its expressions {engine.expressions} are not "
                            f"FER+'s {list(EXPRESSIONS)}")
    for g in by or []:
        if g not in ds.targets or g in ("age", "expression"):
            have = [k for k in ds.targets if k not in ("age", "expression")]
            raise FaceAttrError(f"--by {g}: {ds.spec.labels} has no such group column "
                                f"({', '.join(have) or 'none'})")
    faces, keep, errors, fallback = frame_rows(
        ds, engine.input_size, workers, progress,
        (DEFAULT_DETECTOR if detect is True else detect) or None)
    t = {k: v[keep] for k, v in ds.targets.items()}
    s = engine.scores(faces, mirror=mirror)
    report: dict[str, Any] = {"model": str(engine.path), "images": int(keep.sum()),
                              "skipped": errors, "no_face_found": fallback,
                              "framing": "detect+align" if detect else ds.framing.name,
                              "mirror": mirror}
    if has_age and s.age is not None and s.age_sd is not None and np.isfinite(t["age"]).any():
        rows = np.isfinite(t["age"])
        pred, true, sd = s.age[rows], t["age"][rows], s.age_sd[rows]
        age = age_metrics(pred, true, sd)
        decade = (true // 10).astype(int)
        age["by_decade"] = {f"{10 * d}-{10 * d + 9}": age_metrics(pred[decade == d],
                                                                 true[decade == d])
                            for d in np.unique(decade)}
        age["groups"] = {g: {GROUP_NAMES.get(g, {}).get(int(v), str(v)):
                             age_metrics(pred[t[g][rows] == v], true[t[g][rows] == v])
                             for v in np.unique(t[g][rows]) if v >= 0} for g in by or []}
        report["age"] = age
    if has_expr and s.expressions is not None and (t["expression"].sum(1) > 0).any():
        rows = t["expression"].sum(1) > 0
        probs, votes = s.expressions[rows], t["expression"][rows]
        report["expression"] = expression_metrics(probs, votes, engine.expressions)
        report["expression"]["groups"] = {
            g: {GROUP_NAMES.get(g, {}).get(int(v), str(v)): {
                "accuracy": float((probs[t[g][rows] == v].argmax(1) ==
                                   votes[t[g][rows] == v].argmax(1)).mean())}
                for v in np.unique(t[g][rows]) if v >= 0} for g in by or []}
    if "age" not in report and "expression" not in report:
        raise FaceAttrError(f"{ds.spec.labels}: none of the {int(keep.sum())} images read has "
                            "an age or expression label")
    return report


def format_targets(r: dict[str, Any]) -> str:
    lines = [f"images             {r['images']} ({len(r['skipped'])} unreadable, skipped)"]
    if "age" in r:
        a = r["age"]
        lines += ["", f"age mean absolute error  {a['mae']:.2f} years "
                  f"(median {a['median_error']:.1f}; {a['faces']} faces with an age)",
                  f"age within 5 years       {a['within_5']:.2%}",
                  f"age 80% range holds      {a['range_coverage']:.2%} of true ages "
                  f"(mean SD {a['mean_sd']:.1f} years)",
                  "", f"{'true age':12s} {'faces':>6s} {'MAE':>7s} {'within 5':>9s}"]
        lines += [f"{d:12s} {v['faces']:6d} {v['mae']:7.2f} {v['within_5']:9.2%}"
                  for d, v in a["by_decade"].items()]
        for g, groups in a.get("groups", {}).items():
            lines += ["", f"{'by ' + g:12s} {'faces':>6s} {'MAE':>7s} {'within 5':>9s}"]
            lines += [f"{n:12s} {v['faces']:6d} {v['mae']:7.2f} {v['within_5']:9.2%}"
                      for n, v in groups.items()]
    if "expression" in r:
        e = r["expression"]
        lines += ["", f"expression accuracy      {e['accuracy']:.2%} (against the majority vote; "
                  f"always the commonest: {e['majority_baseline']:.2%}; {e['faces']} faces)",
                  f"expression macro-F1      {e['macro_f1']:.3f}",
                  f"expression calibration   {e['ece']:.2%} (ECE of the top class against "
                  f"the majority vote), {e['ece_votes']:.2%} against its vote share",
                  "", f"{'expression':12s} {'faces':>6s} {'recall':>7s} {'F1':>6s}"]
        lines += [f"{c:12s} {v['faces']:6d} {v['recall']:7.2%} {v['f1']:6.3f}"
                  for c, v in e["per_class"].items()]
        classes, counts = e["confusion"]["classes"], e["confusion"]["counts"]
        lines += ["", "confusion (rows: majority vote, columns: predicted)",
                  " " * 12 + "".join(f"{c[:7]:>8s}" for c in classes)]
        lines += [f"{c:12s}" + "".join(f"{n:8d}" for n in row) for c, row in zip(classes, counts)]
        for g, groups in e.get("groups", {}).items():
            lines += ["", f"by {g}: " + ", ".join(f"{n} {v['accuracy']:.2%}"
                                                  for n, v in groups.items())]
    return "\n".join(lines)
