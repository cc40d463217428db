"""Small photos (250x250, as LFW's): the scan at their own size first, against enlarging to 640.

    python benchmarks/small_photos.py [--count 600] [--model accurate]

The first ``--count`` test crops, resized to 250x250 (the size of LFW's photos), go through
``Recognizer.predict_batch`` as ``faceattr predict`` sends them (decode, YuNet, alignment, the
model), once with YuNet's first scan at the picture's own size (320 px at least; enlarged to
640 only when that finds no face or a small one: the default) and once always enlarged to 640
(``YuNet(first_size=640)``, the behaviour before). Prints photos/s, the faces found and the
mean accuracy of the widest face of each photo against its CelebA labels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr import Recognizer
from faceattr.data.labels import read_celeba_attributes
from faceattr.preprocess.detectors.yunet import YuNet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--model", default="accurate")
    args = ap.parse_args()
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    files = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[: args.count]
    photos = [np.asarray(Image.open(f).convert("RGB").resize((250, 250))) for f in files]
    print(f"{len(files)} test crops at 250x250, model {args.model}\n")
    print("| first scan | photos/s | faces found | mean accuracy (widest face) |")
    print("|---|---:|---:|---:|")
    for first, what in ((640, "always enlarged to 640 (before)"),
                        (320, "own size, 320 at least (default)")):
        rec = Recognizer(args.model, detector=YuNet(first_size=first))
        rec.predict_batch(photos[:16])  # warm up
        t0 = time.perf_counter()
        results = rec.predict_batch(photos)
        rate = len(photos) / (time.perf_counter() - t0)
        cols = [list(labels.attributes).index(a) for a in rec.attributes]
        right, faces = [], 0
        for f, res in zip(files, results):
            usable = [p for p in res.faces if not p.skipped]
            faces += len(res.faces)
            if usable:
                top = max(usable, key=lambda p: p.face.box[2] - p.face.box[0])
                right.append(np.array([top.decisions[a] for a in rec.attributes]) ==
                             labels.values[rows[f.name], cols])
        print(f"| {what} | {rate:.1f} | {faces} | {np.mean(right):.2%} |")
        rec.close()


if __name__ == "__main__":
    main()
