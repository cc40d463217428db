"""Measure a set's framing from detected landmarks: where the canonical square lies in its images.

For sets whose faces are too varied for the mean-face search of ``calibrate_framing.py`` (UTKFace,
FER): the detector runs on each image (upscaled), the least-squares similarity onto the canonical
landmark template gives the canonical square of that face, and the median over the images of its
centre and side (fractions of the image width/height) is printed as a ``framings.toml`` entry.

    python tools/framing_from_landmarks.py ../shared/data/utkface/val-00.tar --name utkface
    python tools/framing_from_landmarks.py ../shared/data/ferplus/valid-00.tar --name ferplus
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.preprocess.detectors import DEFAULT_DETECTOR, create_detector
from faceattr.preprocess.framing import similarity_from_landmarks
from faceattr.preprocess.image import open_image
from faceattr.storage.shards import scan_images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", type=Path, help="a folder, a .tar or a folder of shards")
    ap.add_argument("--name", default="set")
    ap.add_argument("--detector", default=DEFAULT_DETECTOR)
    ap.add_argument("--upscale", type=int, default=192, help="side the images are scaled to")
    ap.add_argument("-n", type=int, default=1000)
    args = ap.parse_args()
    det = create_detector(args.detector)
    rels = scan_images(args.images)
    step = max(1, len(rels) // args.n)
    rows = []
    for rel in rels[::step][: args.n]:
        im = open_image(args.images / rel).convert("RGB")
        w, h = im.size
        k = args.upscale / w
        faces = det.detect(im.resize((args.upscale, round(h * k)), Image.Resampling.BICUBIC))
        if len(faces) != 1:
            continue
        m = similarity_from_landmarks(faces[0].landmarks / k, 1)  # canonical unit square -> px
        cx, cy = m @ [0.5, 0.5, 1.0]
        side = float(np.hypot(*m[:, 0]))
        rows.append((cx / w, cy / h, side / w))
    r = np.array(rows)
    med, q1, q3 = np.median(r, 0), np.percentile(r, 25, 0), np.percentile(r, 75, 0)
    print(f"{args.name}: {len(r)} of {min(args.n, len(rels[::step]))} images with one face")
    print(f"[{args.name}]  cx = {med[0]:.3f}  cy = {med[1]:.3f}  size = {med[2]:.3f}   "
          f"(quartiles cx {q1[0]:.3f}-{q3[0]:.3f}, cy {q1[1]:.3f}-{q3[1]:.3f}, "
          f"size {q1[2]:.3f}-{q3[2]:.3f})")


if __name__ == "__main__":
    main()
