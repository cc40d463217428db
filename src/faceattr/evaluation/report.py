"""``faceattr evaluate``: metrics of a model on a labelled dataset, as text, JSON and a chart."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from faceattr._workers import process_pool
from faceattr.data.dataset import Dataset
from faceattr.errors import FaceAttrError
from faceattr.evaluation.calibration import ece, reliability
from faceattr.evaluation.consistency import violations
from faceattr.evaluation.metrics import attribute_metrics, known, majority_baseline
from faceattr.inference.base import EngineBase
from faceattr.inference.calibration import apply_temperatures
from faceattr.preprocess.detectors import DEFAULT_DETECTOR
from faceattr.preprocess.faces import frame_files


def _bar(results, chunks: list[list[str]], progress: bool, what: str):
    """Yield ``results`` (one per chunk) while a progress bar on stderr counts images."""
    with tqdm(total=sum(map(len, chunks)), unit="img", desc=what, disable=not progress,
              file=sys.stderr, leave=False) as bar:
        for r, c in zip(results, chunks):
            yield r
            bar.update(len(c))


def frame_dataset(ds: Dataset, size: int, workers: int = 2, progress: bool = False,
                  detector: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Frame every image of ``ds`` through the face pipeline (as ``faceattr predict`` reads
    them): by the dataset framing, or with ``detector`` by the widest face found (no face: the
    framing). Returns faces, their labels, the errors of the rest, and how many fell back."""
    faces, keep, errors, fallback = frame_rows(ds, size, workers, progress, detector)
    return faces, ds.labels[keep], errors, fallback


def frame_rows(ds: Dataset, size: int, workers: int = 2, progress: bool = False,
               detector: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """As :func:`frame_dataset`, with the mask of the dataset's rows that were read instead of
    their labels."""
    chunks = [ds.files[i:i + 64] for i in range(0, len(ds.files), 64)]
    jobs: list[tuple[Any, ...]] = [(str(ds.spec.images), c, ds.framing.to_dict(), size,
                                    detector, {}) for c in chunks]
    faces: list[np.ndarray] = []
    keep: list[bool] = []
    errors: list[str] = []
    fallback = 0
    what = "detecting" if detector else "framing"
    with process_pool(workers) as pool:
        for arr, errs, fb in _bar(pool.map(frame_files, jobs), chunks, progress, what):
            ok = [e is None for e in errs]
            faces.append(arr[ok])
            keep.extend(ok)
            errors.extend(e for e in errs if e is not None)
            fallback += sum(fb)
    if not any(keep):
        raise FaceAttrError(f"no image of {ds.spec.images} could be read ({len(errors)} "
                            f"unreadable; first: {errors[0] if errors else '-'}): nothing to "
                            "evaluate")
    return np.concatenate(faces), np.asarray(keep, bool), errors, fallback


def evaluate(engine: EngineBase, ds: Dataset, threshold: str = "0.5", mirror: bool = False,
             workers: int = 2, detect: bool | str = False, progress: bool = False,
             by: list[str] | None = None) -> dict[str, Any]:
    """All the numbers ``faceattr evaluate`` reports (``by``: attributes to split the faces
    by, per-group accuracy)."""
    for a in by or []:
        if a not in engine.attributes:
            raise FaceAttrError(f"--by {a}: not an attribute of the model (e.g. Male, Young)")
    # the attributes both the labels and the model have are scored (a label file may hold only
    # some, and blank cells: those faces are scored on the attributes they have)
    scored = [a for a in engine.attributes if a in ds.attributes]
    if not scored:
        raise FaceAttrError(f"{ds.spec.labels} holds none of the model's attributes "
                            f"({', '.join(engine.attributes[:5])}, ...)")
    for a in by or []:
        if a not in scored:
            raise FaceAttrError(f"--by {a}: not in {ds.spec.labels}")
    mine = [engine.attributes.index(a) for a in scored]
    cols = [list(ds.attributes).index(a) for a in scored]
    faces, labels, errors, fallback = frame_dataset(
        ds, engine.input_size, workers, progress,
        (DEFAULT_DETECTOR if detect is True else detect) or None)
    labels = labels[:, cols]
    raw = engine.probabilities(faces, mirror=mirror, calibrated=False)
    probs = apply_temperatures(raw, engine.temperatures)
    pred = (probs >= engine.thresholds(threshold, "--threshold")[None]).astype(np.uint8)
    raw, probs, pred = raw[:, mine], probs[:, mine], pred[:, mine]
    prevalence = engine.meta.get("train_prevalence")
    if prevalence is not None:
        prevalence = np.asarray(prevalence)[mine]
    unknown = int((~known(labels)).sum())
    m = attribute_metrics(pred, labels)
    errors_cal, errors_raw = ece(probs, labels), ece(raw, labels)
    return {
        "model": str(engine.path),
        "images": len(labels),
        "skipped": errors,
        "framing": "detect+align" if detect else ds.framing.name,
        "no_face_found": fallback,
        "threshold": threshold,
        "mirror": mirror,
        "attributes_scored": len(scored),
        "not_in_model": [a for a in ds.attributes if a not in engine.attributes],
        "attributes_of_model": len(engine.attributes),
        "unknown_labels": unknown,
        "mean_accuracy": float(np.nanmean(m["accuracy"])),
        "balanced_accuracy": float(np.nanmean(m["balanced_accuracy"])),
        "majority_baseline": majority_baseline(labels, prevalence),
        "consistency": {"predicted": violations(pred, scored),
                        "ground_truth": violations(labels, scored) if not unknown else None},
        "calibration": {
            "temperatures": engine.temperatures is not None,
            "ece": float(errors_cal.mean()), "ece_uncalibrated": float(errors_raw.mean()),
            "reliability": [v.tolist() for v in reliability(probs, labels)]},
        "per_attribute": {a: {"accuracy": float(m["accuracy"][j]),
                              "balanced_accuracy": float(m["balanced_accuracy"][j]),
                              "f1": float(m["f1"][j]), "ece": float(errors_cal[j]),
                              "ece_uncalibrated": float(errors_raw[j])}
                          for j, a in enumerate(scored)},
        "groups": group_table(pred, labels, scored, by) if by else None,
    }


def group_table(pred: np.ndarray, labels: np.ndarray, attributes: list[str],
                by: list[str]) -> dict[str, Any]:
    """For each attribute in ``by``: the faces where it is present and where it is absent (by
    the true labels), each group's size, mean and balanced accuracy and per-attribute accuracy
    over the other attributes, and the gap between the groups."""
    out = {}
    for a in by:
        j = attributes.index(a)
        others = [k for k in range(len(attributes)) if k != j]
        groups: dict[str, dict[str, Any]] = {}
        for name, rows in ((a, labels[:, j] == 1), (f"not {a}", labels[:, j] == 0)):
            m = attribute_metrics(pred[rows][:, others], labels[rows][:, others])
            groups[name] = {"faces": int(rows.sum()),
                            "mean_accuracy": float(np.nanmean(m["accuracy"])),
                            "balanced_accuracy": float(np.nanmean(m["balanced_accuracy"])),
                            "per_attribute": {attributes[k]: float(v)
                                              for k, v in zip(others, m["accuracy"])}}
        yes, no = groups[a], groups[f"not {a}"]
        out[a] = {"groups": groups, "gap": yes["mean_accuracy"] - no["mean_accuracy"]}
    return out


def _group_rows(g: dict[str, Any]) -> tuple[list[tuple[str, int]], list[tuple[str, float, float]]]:
    """One ``--by`` table: its two groups' names with face counts, and its rows (name,
    group 1, group 2): the attributes, then the mean and the balanced accuracy."""
    (n1, g1), (n2, g2) = g["groups"].items()
    rows = [(a, g1["per_attribute"][a], g2["per_attribute"][a]) for a in g1["per_attribute"]]
    rows += [("mean accuracy", g1["mean_accuracy"], g2["mean_accuracy"]),
             ("balanced accuracy", g1["balanced_accuracy"], g2["balanced_accuracy"])]
    return [(n1, g1["faces"]), (n2, g2["faces"])], rows


def format_groups(r: dict[str, Any]) -> str:
    """``--by``: per attribute, the accuracy in each group and the gap, then the means."""
    lines = []
    for a, g in (r.get("groups") or {}).items():
        ((n1, f1), (n2, f2)), rows = _group_rows(g)
        lines += ["", f"{'by ' + a:22s} {n1[:12]:>12s} {n2[:12]:>12s} {'gap':>7s}"]
        lines += [f"{name:22s} {x:12.2%} {y:12.2%} {(x - y) * 100:+6.2f}" for name, x, y in rows]
        lines.append(f"{'faces':22s} {f1:12d} {f2:12d}")
    return "\n".join(lines)


def format_report(r: dict[str, Any]) -> str:
    lines = [f"{'attribute':22s} {'acc':>7s} {'bal.acc':>7s} {'F1':>7s} {'ECE':>7s}"]
    for a, v in r["per_attribute"].items():
        lines.append(f"{a:22s} {v['accuracy']:7.2%} {v['balanced_accuracy']:7.2%} "
                     f"{v['f1']:7.3f} {v['ece']:7.2%}")
    c = r["consistency"]
    cal = r["calibration"]
    lines += [
        "",
        f"images             {r['images']} ({len(r['skipped'])} unreadable, skipped)"
        + (f"; no face found in {r['no_face_found']} (framed by the dataset framing)"
           if r["framing"] == "detect+align" else ""),
        *([f"scored            {r['attributes_scored']} of the model's "
           f"{r['attributes_of_model']} attributes (the ones the labels hold)"
           + (f"; {r['unknown_labels']} blank labels left out" if r["unknown_labels"] else "")
           + (f"; label columns the model does not have: {', '.join(r['not_in_model'][:6])}"
              if r.get("not_in_model") else "")]
          if r["attributes_scored"] < r["attributes_of_model"] or r["unknown_labels"] else []),
        f"mean accuracy      {r['mean_accuracy']:.2%}",
        f"balanced accuracy  {r['balanced_accuracy']:.2%}",
        f"majority baseline  {r['majority_baseline']:.2%}",
        f"rule violations    {c['predicted']['any']:.2%} of images"
        + (f" (ground-truth labels: {c['ground_truth']['any']:.2%})" if c["ground_truth"]
           else ""),
        f"calibration error  {cal['ece']:.2%} (ECE, mean over attributes"
        + (f"; {cal['ece_uncalibrated']:.2%} without the model's temperatures)"
           if cal["temperatures"] else "; the model has no fitted temperatures)"),
    ]
    return "\n".join(lines) + ("\n" + format_groups(r) if r.get("groups") else "")


def format_markdown(r: dict[str, Any]) -> str:
    """The per-attribute table and the summary as Markdown (as quoted in the README)."""
    lines = ["| attribute | accuracy | balanced accuracy | F1 | ECE | ECE, no temperature |",
             "|---|---:|---:|---:|---:|---:|"]
    for a, v in r["per_attribute"].items():
        lines.append(f"| {a} | {v['accuracy']:.2%} | {v['balanced_accuracy']:.2%} | "
                     f"{v['f1']:.3f} | {v['ece']:.2%} | {v['ece_uncalibrated']:.2%} |")
    c, cal = r["consistency"], r["calibration"]
    lines.append(f"| **mean** | **{r['mean_accuracy']:.2%}** | **{r['balanced_accuracy']:.2%}**"
                 f" | | **{cal['ece']:.2%}** | {cal['ece_uncalibrated']:.2%} |")
    lines += ["", f"{r['images']} images; majority baseline {r['majority_baseline']:.2%}; "
              f"rule violations {c['predicted']['any']:.2%} of images"
              + (f" (ground truth {c['ground_truth']['any']:.2%})" if c["ground_truth"] else "")
              + f"; calibration error (ECE) {cal['ece']:.2%}."]
    for a, g in (r.get("groups") or {}).items():
        ((n1, f1), (n2, f2)), rows = _group_rows(g)
        lines += ["", f"| by {a} | {n1} ({f1}) | {n2} ({f2}) | gap |", "|---|---:|---:|---:|"]
        lines += [f"| {name} | {x:.2%} | {y:.2%} | {(x - y) * 100:+.2f} |"
                  for name, x, y in rows[:-2]]
        (_, m1, m2), (_, b1, b2) = rows[-2:]
        lines.append(f"| **mean** | **{m1:.2%}** | **{m2:.2%}** | **{(m1 - m2) * 100:+.2f}** |")
        lines.append(f"| balanced | {b1:.2%} | {b2:.2%} | {(b1 - b2) * 100:+.2f} |")
    return "\n".join(lines)


def write_chart(r: dict[str, Any], path: Path) -> None:
    """Horizontal bar chart of per-attribute accuracy and balanced accuracy."""
    try:
        import matplotlib
    except ImportError:
        raise FaceAttrError("--chart needs matplotlib: pip install 'faceattr[chart]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(r["per_attribute"])
    acc = [r["per_attribute"][a]["accuracy"] * 100 for a in names]
    bacc = [r["per_attribute"][a]["balanced_accuracy"] * 100 for a in names]
    y = np.arange(len(names))
    fig, (ax, rel) = plt.subplots(1, 2, figsize=(11, 0.22 * len(names) + 1.2),
                                  gridspec_kw={"width_ratios": [3, 2]})
    ax.barh(y - 0.2, acc, 0.4, label="accuracy")
    ax.barh(y + 0.2, bacc, 0.4, label="balanced accuracy")
    ax.set_yticks(y, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(40, 100)
    ax.axvline(r["mean_accuracy"] * 100, color="k", lw=0.8, ls="--")
    ax.set_xlabel("%")
    ax.set_title(f"mean accuracy {r['mean_accuracy']:.2%}, balanced {r['balanced_accuracy']:.2%}",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    # reliability diagram: predicted probability vs observed frequency, all attributes pooled
    cal = r["calibration"]
    conf, freq, count = (np.asarray(v) for v in cal["reliability"])
    rel.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="perfect calibration")
    rel.plot(conf, freq, marker="o", ms=3, label="this model")
    rel.bar(conf, count / count.sum(), width=0.05, alpha=0.25, color="grey",
            label="share of predictions")
    rel.set_xlim(0, 1)
    rel.set_ylim(0, 1)
    rel.set_aspect("equal")
    rel.set_xlabel("predicted P(present)")
    rel.set_ylabel("observed frequency")
    rel.set_title(f"reliability, all attributes pooled (ECE {cal['ece']:.2%})", fontsize=9)
    rel.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(r: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(r, indent=2))
