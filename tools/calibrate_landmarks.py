"""Measure where a detector's 5 landmarks fall in the canonical square (its ``template``).

Runs the detector on aligned CelebA training faces (upscaled to the 178x218 aligned frame), maps
the landmarks into canonical-square coordinates and prints their mean and spread.

    python tools/calibrate_landmarks.py --detector yunet --data ../shared/data -n 1000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.preprocess.detectors import DEFAULT_DETECTOR, create_detector
from faceattr.preprocess.framing import get_framing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--detector", default=DEFAULT_DETECTOR)
    ap.add_argument("-n", type=int, default=1000)
    args = ap.parse_args()
    det = create_detector(args.detector)
    x0, y0, x1, _ = get_framing("celeba-aligned").square(178, 218)
    pts = []
    for f in sorted((args.data / "celeba/aligned-89x109").glob("*.jpg"))[: args.n]:
        im = Image.open(f).convert("RGB").resize((178, 218), Image.Resampling.BICUBIC)
        faces = det.detect(im)
        if len(faces) == 1:
            pts.append((faces[0].landmarks - [x0, y0]) / (x1 - x0))
    pts = np.array(pts)
    print(f"{args.detector}: {len(pts)} of {args.n} faces with one detection; template "
          "(fractions of the canonical side):")
    print(np.round(pts.mean(0), 4).tolist())
    print("spread (std):", np.round(pts.std(0), 4).tolist())


if __name__ == "__main__":
    main()
