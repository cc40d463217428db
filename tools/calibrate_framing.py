"""Measure where the canonical face square lies in each shared image set.

The mean face of a set (grey levels averaged over many images) shows the eyes, nose and mouth
clearly. We cut the canonical square out of the mean face of the CelebA aligned set (the reference
frame) and search the centre and size of the square in the mean face of every other set that
correlates best with it. Prints TOML entries for ``src/faceattr/framings.toml``.

    python tools/calibrate_framing.py --data ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

REF_SQUARE = (89.0, 121.0, 160.0)  # centre x, centre y, side in the 178x218 aligned frame


def mean_face(folder: Path, n: int, shape: tuple[int, int] | None) -> np.ndarray:
    paths = sorted(folder.glob("*.jpg"))[:n]
    acc = None
    for p in paths:
        im = Image.open(p).convert("L")
        if shape is not None:
            im = im.resize(shape, Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32)
        acc = a if acc is None else acc + a
    return acc / len(paths)


def cut(img: np.ndarray, cx: float, cy: float, side: float, out: int = 48) -> np.ndarray:
    im = Image.fromarray(img.astype(np.float32))
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    a = np.asarray(im.transform((out, out), Image.Transform.EXTENT, box,
                                Image.Resampling.BILINEAR))
    return (a - a.mean()) / (a.std() + 1e-6)


def search(img: np.ndarray, ref: np.ndarray) -> tuple[float, float, float, float]:
    h, w = img.shape
    best = (-1.0, 0.0, 0.0, 0.0)
    grids = [(np.linspace(0.5, 1.3, 41), np.linspace(0.4, 0.6, 21), np.linspace(0.35, 0.7, 36))]
    for sizes, cxs, cys in grids:
        for s in sizes:
            for cx in cxs:
                for cy in cys:
                    score = float((cut(img, cx * w, cy * h, s * w) * ref).mean())
                    if score > best[0]:
                        best = (score, cx, cy, s)
    # refine around the best point
    _, bcx, bcy, bs = best
    for s in np.linspace(bs - 0.02, bs + 0.02, 9):
        for cx in np.linspace(bcx - 0.01, bcx + 0.01, 5):
            for cy in np.linspace(bcy - 0.01, bcy + 0.01, 9):
                score = float((cut(img, cx * w, cy * h, s * w) * ref).mean())
                if score > best[0]:
                    best = (score, cx, cy, s)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("-n", type=int, default=1000, help="images per mean face")
    args = ap.parse_args()
    aligned = mean_face(args.data / "celeba/aligned-89x109", args.n, (178, 218))
    ref = cut(aligned, *REF_SQUARE)
    print(f"[celeba-aligned]  cx = {REF_SQUARE[0] / 178:.3f}  cy = {REF_SQUARE[1] / 218:.3f}  "
          f"size = {REF_SQUARE[2] / 178:.3f}")
    sets = {"celebahq": (args.data / "celebahq/images-64", None),
            "crop": (args.data / "celeba/test-crops-dev", (200, 208))}
    for name, (folder, shape) in sets.items():
        score, cx, cy, s = search(mean_face(folder, args.n, shape), ref)
        print(f"[{name}]  cx = {cx:.3f}  cy = {cy:.3f}  size = {s:.3f}   (correlation {score:.3f})")


if __name__ == "__main__":
    main()
