"""Face detectors side by side on the shared WIDER FACE subset: AP, recall, speed.

    python benchmarks/detectors.py [--detectors yunet hog]

The 100 photos of ``../shared/data/wider-val-subset`` were squeezed to 416x416 by whoever
published them; each is brought back to its original proportions (the labels give the original
size; longer side 640 px) before detection, as a user's photo would be, and the boxes are mapped
back onto the 416x416 labels. Scoring as the subset's README says: detections best first, a hit
at IoU >= 0.5 with a face not yet matched, faces narrower than the minimum (20 or 32 px in the
416x416 picture) left out and detections matching only them ignored; AP with 101-point
interpolation. Every detector runs at a low score threshold to trace its whole precision-recall
curve; recall and precision are then given at its default threshold (precision counting the
detections at least as wide as the minimum: smaller ones are mostly unlabelled tiny faces).
Also: YuNet run plainly on the squeezed 416x416 pictures (scanned at 640), for reference.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr.evaluation.detection import read_wider_labels, score_detections
from faceattr.preprocess.detectors import create_detector, detector_class

WIDER = DATA / "wider-val-subset"
LOW = {"yunet": 0.02, "hog": -1.0}  # thresholds that trace the whole curve


def original_sizes(path: Path) -> dict[str, tuple[int, int]]:
    """``# NAME 416 416 original W H`` lines: each photo's size before it was squeezed."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            p = line[1:].split()
            out[p[0]] = (int(p[4]), int(p[5]))
    return out


def run(detector, photos, restore: bool) -> tuple[list, float]:
    """Detections (boxes in the 416x416 frame, scores) per photo, and ms per photo."""
    found, t0 = [], time.perf_counter()
    for image, (w, h) in photos:
        fx = fy = 1.0
        if restore:
            k = 640 / max(w, h)
            tw, th = round(w * k), round(h * k)
            image = image.resize((tw, th), Image.Resampling.BICUBIC)
            fx, fy = 416 / tw, 416 / th
        faces = detector.detect(image)
        boxes = np.array([f.box for f in faces], np.float64).reshape(-1, 4) * [fx, fy, fx, fy]
        found.append((boxes, np.array([f.score for f in faces])))
    return found, (time.perf_counter() - t0) / len(photos) * 1000


def at_least(found: list, width: float) -> list:
    return [(b[(b[:, 2] - b[:, 0]) >= width], s[(b[:, 2] - b[:, 0]) >= width]) for b, s in found]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detectors", nargs="+", default=["yunet", "hog"])
    args = ap.parse_args()
    labels = read_wider_labels(WIDER / "labels.txt")
    sizes = original_sizes(WIDER / "labels.txt")
    photos = [(Image.open(WIDER / "images" / n).convert("RGB"), sizes[n]) for n, _ in labels]
    truth = [b for _, b in labels]
    print(f"{len(photos)} WIDER FACE val photos, {sum(map(len, truth))} faces "
          f"({sum(int(((b[:, 2] - b[:, 0]) >= 20).sum()) for b in truth)} at least 20 px wide, "
          f"{sum(int(((b[:, 2] - b[:, 0]) >= 32).sum()) for b in truth)} at least 32 px)\n")
    print("| detector | AP, faces >= 32 px | AP, >= 20 px | recall >= 32 / >= 20 at the default "
          "threshold | precision >= 32 / >= 20 | ms per photo |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [(name, True) for name in args.detectors]
    if "yunet" in args.detectors:
        rows.append(("yunet", False))
    for name, restore in rows:
        default = inspect.signature(detector_class(name).__init__).parameters["score"].default
        det = create_detector(name, score=LOW.get(name))
        found, ms = run(det, photos, restore)
        s32 = score_detections(truth, found, 32)
        s20 = score_detections(truth, found, 20)
        r32 = score_detections(truth, found, 32, threshold=default).recall
        r20 = score_detections(truth, found, 20, threshold=default).recall
        p32 = score_detections(truth, at_least(found, 32), 32, threshold=default).precision
        p20 = score_detections(truth, at_least(found, 20), 20, threshold=default).precision
        label = name + ("" if restore else ", squeezed 416x416 photos as published")
        print(f"| {label} (default threshold {default:g}) | {s32.ap:.3f} | {s20.ap:.3f} | "
              f"{r32:.1%} / {r20:.1%} | {p32:.1%} / {p20:.1%} "
              f"| {ms:.1f} |", flush=True)


if __name__ == "__main__":
    main()
