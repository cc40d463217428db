"""``--format table`` (the default on a terminal): a readable table, written whole at the end."""

from __future__ import annotations

from typing import TextIO

from faceattr.outputs.base import OutputFormat


def _where(p) -> str:
    """``file``, or ``file face K (box)`` when faces were detected; in a video, a track."""
    if p.video is not None and p.video.frames:
        v = p.video
        return f"{p.source} track {v.track} ({v.time:.1f}-{v.until:.1f} s, {v.frames} frames)"
    if p.face is None:
        return p.source
    box = ",".join(f"{v:.0f}" for v in p.face.box)
    return f"{p.source} face {p.face_index} ({box})"


class Table(OutputFormat):
    """One face: every attribute with probability, threshold and decision. Several: one line
    per face (with its index and box) with the attributes decided present."""

    name = "table"
    suffixes = (".txt",)
    resumable = False

    def __init__(self, attributes, thresholds=None, expressions=(), age=False) -> None:
        super().__init__(attributes, thresholds, expressions, age)
        self.preds: list = []

    def write(self, preds: list, out: TextIO) -> None:
        # a video's table lists its tracks (its per-frame faces are in jsonl/csv/parquet)
        self.preds += [p for p in preds if p.video is None or p.video.frames or not p.ok]

    def close(self, out: TextIO) -> None:
        ok = [p for p in self.preds if p.ok]
        if len(self.preds) == 1 and ok and not ok[0].skipped:
            p = ok[0]
            out.write(f"{_where(p)}\n")
            if p.face is not None and p.face.turned:
                out.write(f"note: the face is turned {p.face.turned} degrees; read upright\n")
            if unlike(p):
                out.write(f"note: unlike a natural upright face (likeness {p.likeness:.2f}: "
                          "inverted colours, a drawing, an animal?); do not trust these answers\n")
            if p.unreliable:
                out.write(f"note: a black-and-white face; unreliable: "
                          f"{', '.join(p.unreliable)}\n")
            out.writelines(line + "\n" for line in age_and_expression(p))
            out.write(f"{'attribute':22s} {'prob':>6s} {'thresh':>6s}  present\n")
            for a in sorted(p.probabilities, key=lambda a: -p.probabilities[a]):
                mark = "yes" if p.decisions[a] else ""
                bar = "#" * round(p.probabilities[a] * 20)
                out.write(f"{a:22s} {p.probabilities[a]:6.3f} {self.thresholds[a]:6.2f}  "
                          f"{mark:3s}  {bar}\n")
            return
        for p in ok:
            what = f"skipped ({p.skipped})" if p.skipped else ", ".join(p.present) or "(none)"
            head = "" if p.skipped else short(p) + ("(unlike a face) " if unlike(p) else "")
            out.write(f"{_where(p)}: {head}{what}\n")


def unlike(p) -> bool:
    """The face is unlike a natural upright face (``preprocess.faces.LOW_LIKENESS``)."""
    from faceattr.preprocess.faces import LOW_LIKENESS

    return p.likeness is not None and p.likeness < LOW_LIKENESS


def age_and_expression(p) -> list[str]:
    """The table's lines above the attributes: age with its range, expression with its
    probability and the runners-up (models with those tasks)."""
    lines = []
    if p.age is not None:
        lo, hi = p.age_range if p.age_range is not None else (p.age, p.age)
        lines.append(f"{'age':22s} {p.age:6.1f}  years (80% range {lo:.0f}-{hi:.0f})")
    if p.expressions:
        ranked = sorted(p.expressions, key=lambda e: -p.expressions[e])
        others = ", ".join(f"{e} {p.expressions[e]:.2f}" for e in ranked[1:3])
        lines.append(f"{'expression':22s} {p.expressions[ranked[0]]:6.3f}  {ranked[0]} "
                     f"(then {others})")
    return lines


def short(p) -> str:
    """``31 y, happiness; `` for a face of a model with age and expression, else ``""``."""
    parts = ([f"{p.age:.0f} y"] if p.age is not None else []) + \
        ([p.expression] if p.expression else [])
    return ", ".join(parts) + "; " if parts else ""
