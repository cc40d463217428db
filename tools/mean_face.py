"""Build the mean face the face-likeness check compares each aligned face with.

    python tools/mean_face.py CACHE [--count 4000] [--out src/faceattr/weights/mean_face.png]

The grey mean of ``--count`` random faces of a cache in the canonical framing (a val split,
never test), saved as an 8-bit PNG of the cache's size (``preprocess/faces.py: likeness``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.data.cache import open_cache


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--out", type=Path, default=Path("src/faceattr/weights/mean_face.png"))
    args = ap.parse_args()
    cache = open_cache(args.cache)
    rows = np.sort(np.random.default_rng(0).permutation(len(cache))[: args.count])
    mean = np.asarray(cache.images[rows], np.float32).mean(axis=(0, 3))
    Image.fromarray(np.round(mean).astype(np.uint8), "L").save(args.out)
    print(f"{args.out}: mean of {len(rows)} faces of {args.cache}, {mean.shape[0]} px")


if __name__ == "__main__":
    main()
