"""Compare face detectors for the arbitrary-photo path: detection rate, alignment quality, speed.

    python benchmarks/detectors.py [-n 600] [--pictures 10]

Detectors: dlib HOG + 5 landmarks searched at 0 and ±30 degrees (what faceattr uses), the same
upright only, and OpenCV's Haar cascade (box only; its box is mapped onto the canonical square by
a scale and offset calibrated here on 300 aligned *training* faces). Alignment quality is the
bundled model's mean accuracy on the first ``n`` test crops through each detector, beside the
dataset framing. Composed pictures: 4 faces each, rotated by up to ±30 degrees and scaled.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.compose import compose

from _common import DATA
from faceattr.data.labels import read_celeba_attributes
from faceattr.evaluation.metrics import summary
from faceattr.inference.recognizer import Recognizer
from faceattr.preprocess.detect import DLIB5_TEMPLATE, FaceDetector
from faceattr.preprocess.framing import frame_face, get_framing, resize_square


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (opencv-python-headless 4.x ships the file)."""

    def __init__(self) -> None:
        import cv2

        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades
                                             + "haarcascade_frontalface_default.xml")

    def detect(self, image: Image.Image) -> list[tuple[float, float, float, float]]:
        grey = self.cv2.cvtColor(np.asarray(image), self.cv2.COLOR_RGB2GRAY)
        found = self.cascade.detectMultiScale(grey, 1.1, 5, minSize=(40, 40))
        boxes = [(x, y, x + w, y + h) for x, y, w, h in found]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]))


def calibrate_haar(haar: HaarDetector, n: int = 300) -> tuple[float, float, float]:
    """(expand, dx, dy): canonical square = box side * expand, centre shifted by (dx, dy) sides."""
    framing = get_framing("celeba-aligned")
    rows = []
    for f in sorted((DATA / "celeba" / "aligned-89x109").glob("*.jpg"))[:n]:
        im = Image.open(f).convert("RGB").resize((178, 218), Image.Resampling.BICUBIC)
        boxes = haar.detect(im)
        if not boxes:
            continue
        x0, y0, x1, y1 = boxes[0]
        s0, t0, s1, t1 = framing.square(178, 218)
        side = x1 - x0
        rows.append(((s1 - s0) / side, ((s0 + s1) - (x0 + x1)) / 2 / side,
                     ((t0 + t1) - (y0 + y1)) / 2 / side))
    return tuple(np.median(np.array(rows), axis=0))


def square_from_haar(box, cal) -> tuple[float, float, float, float]:
    expand, dx, dy = cal
    side = box[2] - box[0]
    cx, cy = (box[0] + box[2]) / 2 + dx * side, (box[1] + box[3]) / 2 + dy * side
    half = side * expand / 2
    return (cx - half, cy - half, cx + half, cy + half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=600, help="test crops to use")
    ap.add_argument("--pictures", type=int, default=10, help="composed pictures of 4 faces")
    args = ap.parse_args()
    rec = Recognizer()
    size = rec.engine.input_size
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    files = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[: args.n]
    truth = labels.values[[rows[f.name] for f in files]]
    images = [Image.open(f).convert("RGB") for f in files]
    haar = HaarDetector()
    cal = calibrate_haar(haar)
    print(f"Haar box -> canonical square: side x{cal[0]:.2f}, centre shift ({cal[1]:+.2f}, "
          f"{cal[2]:+.2f}) box sides (median of 300 aligned training faces)")
    detectors = {"dlib HOG + 5 landmarks, 0/±30°": FaceDetector(),
                 "dlib HOG + 5 landmarks, upright": FaceDetector(angles=(0.0,)),
                 "OpenCV Haar cascade, upright": haar}
    crop = get_framing("crop")
    base = np.stack([np.asarray(frame_face(im, size, crop)) for im in images])
    acc, _ = summary((rec.engine.probabilities(base) >= 0.5).astype(np.uint8), truth)
    print(f"\n{len(files)} test crops; dataset framing ('crop'): mean accuracy {acc:.2%}\n")
    print("| detector | found a face | ms per image | mean accuracy (no face: crop framing) |")
    print("|---|---:|---:|---:|")
    for name, det in detectors.items():
        faces, found, t0 = [], 0, time.perf_counter()
        for im in images:
            d = det.detect(im)
            if d and isinstance(det, FaceDetector):
                faces.append(np.asarray(frame_face(im, size, landmarks=d[0].landmarks,
                                                   template=DLIB5_TEMPLATE)))
            elif d:
                faces.append(np.asarray(resize_square(im, square_from_haar(d[0], cal), size)))
            else:
                faces.append(np.asarray(frame_face(im, size, crop)))
            found += bool(d)
        ms = (time.perf_counter() - t0) / len(images) * 1000
        acc, _ = summary((rec.engine.probabilities(np.stack(faces)) >= 0.5).astype(np.uint8),
                         truth)
        print(f"| {name} | {found / len(images):.1%} | {ms:.1f} | {acc:.2%} |", flush=True)

    rng = np.random.default_rng(1)
    pool = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[args.n:]
    print(f"\n{args.pictures} composed 1000x800 pictures, 4 faces each, angles in [-30, 30], "
          "scales 0.8-1.4\n")
    print("| detector | faces found | false detections | ms per picture |")
    print("|---|---:|---:|---:|")
    pictures = []
    for _ in range(args.pictures):
        pick = [pool[i] for i in rng.choice(len(pool), 4, replace=False)]
        pictures.append(compose(pick, list(rng.uniform(-30, 30, 4)), list(rng.uniform(0.8, 1.4, 4)),
                                seed=int(rng.integers(1000))))
    for name, det in detectors.items():
        hit = false = 0
        t0 = time.perf_counter()
        for pic, centres in pictures:
            found = det.detect(pic)
            boxes = [f.box if hasattr(f, "box") else f for f in found]
            matched = [any(b[0] < cx < b[2] and b[1] < cy < b[3] for b in boxes)
                       for cx, cy in centres]
            hit += sum(matched)
            false += sum(not any(b[0] < cx < b[2] and b[1] < cy < b[3] for cx, cy in centres)
                         for b in boxes)
        ms = (time.perf_counter() - t0) / len(pictures) * 1000
        print(f"| {name} | {hit}/{4 * len(pictures)} | {false} | {ms:.0f} |", flush=True)


if __name__ == "__main__":
    main()
