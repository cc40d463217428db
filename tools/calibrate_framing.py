"""Measure where the canonical face square lies in each shared image set.

The mean face of a set (grey levels averaged over many images) shows the eyes, nose and mouth
clearly. We cut the canonical square out of the mean face of the CelebA aligned set (the reference
frame) and search the centre and size of the square in the mean face of every other set that
correlates best with it. A set that shows less than the canonical square (the tight 108 crop) is
found the other way round: the box of the aligned mean face that matches its whole image.
Prints TOML entries for ``src/faceattr/framings.toml``.

    python tools/calibrate_framing.py --data ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.preprocess.image import open_image
from faceattr.storage.shards import scan_images

REF_SQUARE = (89.0, 121.0, 160.0)  # centre x, centre y, side in the 178x218 aligned frame


def mean_face(folder: Path, n: int, shape: tuple[int, int] | None) -> np.ndarray:
    paths = [folder / rel for rel in scan_images(folder)[:n]]  # a folder, a .tar, or shards
    acc = None
    for p in paths:
        im = open_image(p).convert("L")
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
    grids = [(np.linspace(0.5, 1.6, 56), np.linspace(0.4, 0.6, 21), np.linspace(0.35, 0.7, 36))]
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


def search_inside(aligned: np.ndarray, img: np.ndarray) -> tuple[float, float, float, float]:
    """For a set that shows less than the canonical square: where does its whole (square) image
    lie in the aligned frame? Returns (correlation, centre x, centre y, side) in aligned pixels."""
    target = cut(img, img.shape[1] / 2, img.shape[0] / 2, img.shape[1])
    best = (-1.0, 0.0, 0.0, 0.0)
    for side in np.arange(90.0, 131.0, 2.0):
        for cx in np.arange(84.0, 95.0, 1.0):
            for cy in np.arange(95.0, 125.0, 1.0):
                score = float((cut(aligned, cx, cy, side) * target).mean())
                if score > best[0]:
                    best = (score, cx, cy, side)
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
            "crop": (args.data / "celeba/test-crops-dev", (200, 208)),
            "celeba-square160": (args.data / "celeba/aligned-square160-64/val-00.tar", None)}
    for name, (folder, shape) in sets.items():
        score, cx, cy, s = search(mean_face(folder, args.n, shape), ref)
        print(f"[{name}]  cx = {cx:.3f}  cy = {cy:.3f}  size = {s:.3f}   (correlation {score:.3f})")
    # The tight crops lie inside the canonical square: find their box in the aligned frame.
    tight = {"celeba-crop108": args.data / "celeba/aligned-crop108-64/val-00.tar",
             "utkface": args.data / "utkface/val-00.tar",
             "ferplus": args.data / "ferplus/valid-00.tar"}
    for name, folder in tight.items():
        score, bx, by, side = search_inside(aligned, mean_face(folder, args.n, None))
        rx, ry, rs = REF_SQUARE
        h = side / 2
        print(f"[{name}]  box in the aligned frame ({bx - h:.0f},{by - h:.0f})-"
              f"({bx + h:.0f},{by + h:.0f}), correlation {score:.3f}:  cx = "
              f"{0.5 + (rx - bx) / side:.3f}  cy = {0.5 + (ry - by) / side:.3f}  "
              f"size = {rs / side:.3f}")


if __name__ == "__main__":
    main()
