"""Writing predictions as a readable table, JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from faceattr.inference.recognizer import Prediction

BOX = ("box_left", "box_top", "box_right", "box_bottom")


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
    if len(preds) == 1 and ok:
        p = ok[0]
        out.write(f"{_where(p)}\n{'attribute':22s} {'prob':>6s} {'thresh':>6s}  present\n")
        for a in sorted(p.probabilities, key=lambda a: -p.probabilities[a]):
            mark = "yes" if p.decisions[a] else ""
            bar = "#" * round(p.probabilities[a] * 20)
            out.write(f"{a:22s} {p.probabilities[a]:6.3f} {thresholds[a]:6.2f}  {mark:3s}  "
                      f"{bar}\n")
        return
    for p in ok:
        out.write(f"{_where(p)}: {', '.join(p.present) or '(none)'}\n")


def write_jsonl(preds: Iterable[Prediction], out: TextIO) -> None:
    for p in preds:
        out.write(json.dumps(p.to_dict()) + "\n")


def write_csv(preds: Iterable[Prediction], attributes: list[str], out: TextIO,
              header: bool = True) -> None:
    """One row per face: file, face index, box (empty without detection), error, then every
    probability and every decision."""
    w = csv.writer(out)
    if header:
        w.writerow(["file", "face", *BOX, "error", *(f"{a}_prob" for a in attributes),
                    *attributes])
    for p in preds:
        box = [f"{v:.1f}" for v in p.face.box] if p.face is not None else [""] * 4
        if p.ok:
            w.writerow([p.source, p.face_index, *box, "",
                        *(f"{p.probabilities[a]:.4f}" for a in attributes),
                        *(int(p.decisions[a]) for a in attributes)])
        else:
            w.writerow([p.source, "", *box, p.error, *([""] * (2 * len(attributes)))])
