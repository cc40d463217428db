"""Faces turned 90, 180 or 270 degrees: found, set upright, and answered as upright ones.

    python benchmarks/turned_faces.py [--model fast] [--count 500]

The first ``--count`` test crops are turned (Pillow ``rotate(k, expand=True)``) and read as
``faceattr predict`` reads a photo: YuNet detection, alignment by the landmarks, the model.
With the way-up check (the default) and without it (``YuNet(upright=False)``), prints per
turn: the share of pictures with a face found, the share whose way up was found (the face's
``turned`` equals the turn), the mean accuracy over the 40 attributes and the accuracy of Male
(the widest face of each picture against its CelebA labels), and the time per picture.
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
    ap.add_argument("--model", default="fast")
    ap.add_argument("--count", type=int, default=500)
    args = ap.parse_args()
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    files = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[: args.count]
    pictures = [Image.open(f).convert("RGB") for f in files]
    print(f"{len(files)} test crops, model {args.model}\n")
    print("| way-up check | turn | face found | way up found | mean accuracy | Male | ms/picture |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for upright in (True, False):
        rec = Recognizer(args.model, detector=YuNet(upright=upright))
        cols = [list(labels.attributes).index(a) for a in rec.attributes]
        male = rec.attributes.index("Male")
        for turn in (0, 90, 180, 270):
            found, way, correct, t0 = 0, 0, [], time.perf_counter()
            for f, picture in zip(files, pictures):
                faces = [p for p in rec.predict_faces(picture.rotate(turn, expand=True))
                         if p.face is not None and not p.skipped]
                if not faces:
                    continue
                found += 1
                top = max(faces, key=lambda p: p.face.box[2] - p.face.box[0])
                way += int(top.face.turned == turn)
                truth = labels.values[rows[f.name], cols]
                correct.append(np.array([top.decisions[a] for a in rec.attributes]) == truth)
            ms = (time.perf_counter() - t0) / len(files) * 1000
            c = np.array(correct)
            print(f"| {'on' if upright else 'off'} | {turn} | {found / len(files):.1%} | "
                  f"{way / len(files):.1%} | {c.mean():.2%} | {c[:, male].mean():.1%} | "
                  f"{ms:.1f} |")
        rec.close()


if __name__ == "__main__":
    main()
