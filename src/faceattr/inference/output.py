"""Writing predictions as a readable table, JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from faceattr.inference.recognizer import Prediction
from faceattr.inference.results import columns, row_of


def _where(p: Prediction) -> str:
    """``file``, or ``file, face K (box)`` when faces were detected."""
    if p.face is None:
        return p.source
    box = ",".join(f"{v:.0f}" for v in p.face.box)
    return f"{p.source} face {p.face_index} ({box})"


def write_table(preds: list[Prediction], thresholds: dict[str, float], out: TextIO) -> None:
    """One face: every attribute with probability, threshold and decision. Several: one line
    per face (with its index and box) with the attributes decided present."""
    ok = [p for p in preds if p.ok]
    if len(preds) == 1 and ok and not ok[0].skipped:
        p = ok[0]
        out.write(f"{_where(p)}\n")
        if p.unreliable:
            out.write(f"note: a black-and-white face; unreliable: {', '.join(p.unreliable)}\n")
        out.write(f"{'attribute':22s} {'prob':>6s} {'thresh':>6s}  present\n")
        for a in sorted(p.probabilities, key=lambda a: -p.probabilities[a]):
            mark = "yes" if p.decisions[a] else ""
            bar = "#" * round(p.probabilities[a] * 20)
            out.write(f"{a:22s} {p.probabilities[a]:6.3f} {thresholds[a]:6.2f}  {mark:3s}  "
                      f"{bar}\n")
        return
    for p in ok:
        what = f"skipped ({p.skipped})" if p.skipped else ", ".join(p.present) or "(none)"
        out.write(f"{_where(p)}: {what}\n")


def write_jsonl(preds: Iterable[Prediction], out: TextIO) -> None:
    for p in preds:
        out.write(json.dumps(p.to_dict()) + "\n")


def write_csv(preds: Iterable[Prediction], attributes: list[str], out: TextIO,
              header: bool = True) -> None:
    """One row per face, the columns of :func:`~faceattr.inference.results.row_of` (file, face
    index, box, error, every probability, every decision), as ``--output FILE.csv`` holds."""
    w = csv.writer(out, lineterminator="\n")
    cols = columns(attributes)
    if header:
        w.writerow(cols)
    for p in preds:
        row = row_of(p, attributes)
        w.writerow([row[c] for c in cols])
