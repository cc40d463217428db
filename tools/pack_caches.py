"""Pack finished caches into one small file (WebP-compressed faces) and unpack them elsewhere.

Used to carry the training data to a lent GPU machine, whose upload limit is far below the size
of the raw uint8 caches.

    python tools/pack_caches.py pack cache/celeba-aligned cache/celebahq --out gpu/train.npz
    python tools/pack_caches.py unpack gpu/train.npz --out /tmp/cache
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.data.cache import CACHED, open_cache


def pack(caches: list[Path], out: Path, quality: int) -> None:
    arrays: dict[str, np.ndarray] = {}
    for k, path in enumerate(caches):
        c = open_cache(path)
        blobs = []
        for img in c.images:
            buf = io.BytesIO()
            Image.fromarray(np.asarray(img)).save(buf, "WEBP", quality=quality, method=4)
            blobs.append(np.frombuffer(buf.getvalue(), np.uint8))
        meta = json.loads((path / "meta.json").read_text())
        meta["files"] = c.files
        meta["failures"] = {}
        arrays[f"{k}.data"] = np.concatenate(blobs)
        arrays[f"{k}.offsets"] = np.cumsum([0] + [len(b) for b in blobs])
        arrays[f"{k}.labels"] = c.labels
        arrays[f"{k}.meta"] = np.frombuffer(json.dumps({"name": path.name, **meta}).encode(),
                                            np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def unpack(packed: Path, out: Path) -> None:
    z = np.load(packed)
    k = 0
    while f"{k}.meta" in z:
        meta = json.loads(z[f"{k}.meta"].tobytes())
        data, offsets, labels = z[f"{k}.data"], z[f"{k}.offsets"], z[f"{k}.labels"]
        size = meta["settings"]["size"]
        n = len(labels)
        dst = out / meta.pop("name")
        dst.mkdir(parents=True, exist_ok=True)
        images = np.memmap(dst / "images.u8", np.uint8, "w+", shape=(n, size, size, 3))
        for i in range(n):
            blob = data[offsets[i]:offsets[i + 1]].tobytes()
            images[i] = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
        images.flush()
        np.save(dst / "labels.npy", labels)
        np.full(n, CACHED, np.uint8).tofile(dst / "status.u8")
        (dst / "meta.json").write_text(json.dumps(meta))
        print(f"unpacked {dst} ({n} images)")
        k += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("caches", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quality", type=int, default=90)
    p = sub.add_parser("unpack")
    p.add_argument("packed", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.cmd == "pack":
        pack(args.caches, args.out, args.quality)
    else:
        unpack(args.packed, args.out)


if __name__ == "__main__":
    main()
