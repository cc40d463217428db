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

    def __init__(self, attributes, thresholds=None) -> None:
        super().__init__(attributes, thresholds)
        self.preds: list = []

    def write(self, preds: list, out: TextIO) -> None:
        # a video's table lists its tracks (its per-frame faces are in jsonl/csv/parquet)
        self.preds += [p for p in preds if p.video is None or p.video.frames or not p.ok]

    def close(self, out: TextIO) -> None:
        ok = [p for p in self.preds if p.ok]
        if len(self.preds) == 1 and ok and not ok[0].skipped:
            p = ok[0]
            out.write(f"{_where(p)}\n")
            if p.unreliable:
                out.write(f"note: a black-and-white face; unreliable: "
                          f"{', '.join(p.unreliable)}\n")
            out.write(f"{'attribute':22s} {'prob':>6s} {'thresh':>6s}  present\n")
            for a in sorted(p.probabilities, key=lambda a: -p.probabilities[a]):
                mark = "yes" if p.decisions[a] else ""
                bar = "#" * round(p.probabilities[a] * 20)
                out.write(f"{a:22s} {p.probabilities[a]:6.3f} {self.thresholds[a]:6.2f}  "
                          f"{mark:3s}  {bar}\n")
            return
        for p in ok:
            what = f"skipped ({p.skipped})" if p.skipped else ", ".join(p.present) or "(none)"
            out.write(f"{_where(p)}: {what}\n")
