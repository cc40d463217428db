"""Write a side-by-side grid of preprocessed faces from several caches (one row per cache).

    python tools/sample_grid.py cache/celeba-aligned cache/celebahq cache/test-crops-dev \
        --out docs/framing-grid.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from faceattr.data.cache import open_cache
from faceattr.preprocess.framing import CANONICAL_LANDMARKS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("caches", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("-n", type=int, default=10, help="faces per row")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--mean", action="store_true", help="add a mean face per row, with landmarks")
    args = ap.parse_args()
    rows = []
    for path in args.caches:
        c = open_cache(path)
        idx = np.linspace(0, len(c) - 1, args.n).astype(int)
        tiles = [c.images[i] for i in idx]
        if args.mean:
            m = np.asarray(c.images[: min(len(c), 2000)], dtype=np.float32).mean(0)
            tiles.append(m.astype(np.uint8))
        rows.append((path.name, tiles, c.size))
    size = rows[0][2] * args.scale
    label_w = 130
    grid = Image.new("RGB", (label_w + len(rows[0][1]) * (size + 4), len(rows) * (size + 4)),
                     "white")
    draw = ImageDraw.Draw(grid)
    for r, (name, tiles, _) in enumerate(rows):
        y = r * (size + 4)
        draw.text((4, y + size // 2 - 6), name, fill="black")
        for k, t in enumerate(tiles):
            x = label_w + k * (size + 4)
            grid.paste(Image.fromarray(np.asarray(t)).resize((size, size)), (x, y))
            if args.mean and k == len(tiles) - 1:
                for u, v in CANONICAL_LANDMARKS:
                    cx, cy = x + u * size, y + v * size
                    draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), outline="red")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
