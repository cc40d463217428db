"""Writing predictions as a readable table, JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from faceattr.inference.recognizer import Prediction


def write_table(preds: list[Prediction], thresholds: dict[str, float], out: TextIO) -> None:
    """One image: every attribute with probability, threshold and decision. Several: one line
    per image with the attributes decided present."""
    ok = [p for p in preds if p.ok]
    if len(preds) == 1 and ok:
        p = ok[0]
        out.write(f"{p.source}\n{'attribute':22s} {'prob':>6s} {'thresh':>6s}  present\n")
        for a in sorted(p.probabilities, key=lambda a: -p.probabilities[a]):
            mark = "yes" if p.decisions[a] else ""
            bar = "#" * round(p.probabilities[a] * 20)
            out.write(f"{a:22s} {p.probabilities[a]:6.3f} {thresholds[a]:6.2f}  {mark:3s}  "
                      f"{bar}\n")
        return
    for p in preds:
        if p.ok:
            out.write(f"{p.source}: {', '.join(p.present) or '(none)'}\n")


def write_jsonl(preds: Iterable[Prediction], out: TextIO) -> None:
    for p in preds:
        out.write(json.dumps(p.to_dict()) + "\n")


def write_csv(preds: Iterable[Prediction], attributes: list[str], out: TextIO,
              header: bool = True) -> None:
    w = csv.writer(out)
    if header:
        w.writerow(["file", "error", *(f"{a}_prob" for a in attributes), *attributes])
    for p in preds:
        if p.ok:
            w.writerow([p.source, "", *(f"{p.probabilities[a]:.4f}" for a in attributes),
                        *(int(p.decisions[a]) for a in attributes)])
        else:
            w.writerow([p.source, p.error, *([""] * (2 * len(attributes)))])
