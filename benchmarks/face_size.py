"""How small a face can be and still get trustworthy attributes (the default ``--min-face``).

    python benchmarks/face_size.py [-n 1000]

Each of the first ``n`` test crops is shrunk (antialiased) until its face, as YuNet boxes it at
full size, is W pixels wide, then read as ``faceattr predict`` reads it (aligned by the
landmarks YuNet finds on the full-size crop, scaled down with it). Mean accuracy of the default
model at each W, beside the full-size figure and the majority baseline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr import Recognizer
from faceattr.data.labels import read_celeba_attributes
from faceattr.evaluation.metrics import summary
from faceattr.preprocess.detectors import largest
from faceattr.preprocess.framing import frame_face

WIDTHS = (8, 12, 16, 20, 24, 28, 32, 40, 48, 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000)
    args = ap.parse_args()
    rec = Recognizer()
    det, size = rec.detector, rec.engine.input_size
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    files = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[: args.n]
    images, faces, keep = [], [], []
    for f in files:
        im = Image.open(f).convert("RGB")
        found = det.detect(im)
        if found:
            images.append(im)
            faces.append(found[largest(found)])
            keep.append(rows[f.name])
    truth = labels.values[keep]
    majority = (truth.mean(0) >= 0.5).astype(np.uint8)
    base, _ = summary(np.broadcast_to(majority, truth.shape), truth)
    widths = np.array([f.width for f in faces])
    print(f"{len(images)} test crops with a face (median face width {np.median(widths):.0f} px); "
          f"majority baseline {base:.2%}\n")
    print("| face width (px) | mean accuracy |")
    print("|---:|---:|")
    for w in (*WIDTHS, None):
        squares = []
        for im, face in zip(images, faces):
            k = 1.0 if w is None else w / face.width
            small = im if w is None else im.resize(
                (max(1, round(im.width * k)), max(1, round(im.height * k))),
                Image.Resampling.LANCZOS)
            squares.append(np.asarray(frame_face(small, size, landmarks=face.landmarks * k,
                                                 template=det.template)))
        probs = rec.engine.probabilities(np.stack(squares))
        acc, _ = summary((probs >= 0.5).astype(np.uint8), truth)
        print(f"| {'full size' if w is None else w} | {acc:.2%} |", flush=True)


if __name__ == "__main__":
    main()
