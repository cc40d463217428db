"""Throughput of the whole ``faceattr predict`` command on a folder of 12-megapixel photos.

    python benchmarks/big_photos.py [-n 24] [--faces 5] [--runs 3]

Each photo is 4000x3000 (a phone picture), a WIDER FACE crowd photo enlarged as the background
(its own small faces are blurred away by the enlargement and not counted) with ``--faces`` test
crops pasted on it at 200-700 px (the faces themselves 110-400 px wide), some turned by up
to 25 degrees, with sensor-like noise (the files are 3-5 MB, as a phone's), saved as JPEG
quality 90.
The command runs as a user runs it (a new process, model loading included); the figure is photos
per second over the whole command (best of ``--runs``) with its CPU time (over the wall time:
how many cores worked), and every pasted face must be found: a face counts as found when one
detected box holds its centre.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA


def make_photos(out: Path, n: int, faces: int, seed: int = 0) -> dict[str, list]:
    """Write ``n`` 12 MP photos into ``out``; returns the pasted face centres per file."""
    rng = np.random.default_rng(seed)
    crops = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))
    backgrounds = sorted((DATA / "wider-val-subset" / "images").glob("*.jpg"))
    truth = {}
    for k in range(n):
        bg = Image.open(backgrounds[k % len(backgrounds)]).convert("RGB")
        photo = bg.filter(ImageFilter.GaussianBlur(6)).resize((4000, 3000),
                                                               Image.Resampling.BICUBIC)
        cols = faces if faces <= 4 else -(-faces // 2)
        rows = -(-faces // cols)
        cw, ch = 4000 // cols, 3000 // rows
        centres = []
        for j in range(faces):
            face = Image.open(crops[rng.integers(len(crops))]).convert("RGB")
            side = int(rng.uniform(200, min(700, 0.8 * min(cw, ch))))
            face = face.resize((side, round(side * face.height / face.width)),
                               Image.Resampling.BICUBIC)
            angle = float(rng.uniform(-25, 25)) if rng.random() < 0.4 else 0.0
            mask = Image.new("L", face.size, 255).rotate(angle, Image.Resampling.BICUBIC,
                                                          expand=True)
            face = face.rotate(angle, Image.Resampling.BICUBIC, expand=True)
            cx = (j % cols) * cw + cw // 2 + int(rng.integers(-cw // 8, cw // 8 + 1))
            cy = (j // cols) * ch + ch // 2 + int(rng.integers(-ch // 8, ch // 8 + 1))
            photo.paste(face, (cx - face.width // 2, cy - face.height // 2), mask)
            centres.append((cx, cy))
        # sensor-like noise, so the file has a phone photo's detail and size (3-5 MB)
        noise = rng.normal(0, 6, (3000, 4000, 1)).astype(np.float32)
        photo = Image.fromarray(np.clip(np.asarray(photo, np.float32) + noise, 0, 255)
                                .astype(np.uint8))
        name = f"photo{k:03d}.jpg"
        photo.save(out / name, quality=90)
        truth[name] = centres
    return truth


def children_cpu() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=24, help="photos")
    ap.add_argument("--faces", type=int, default=5, help="faces per photo")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--detector", default="yunet")
    ap.add_argument("--detect-size", type=int, help="passed to faceattr predict")
    ap.add_argument("--model", help="passed to faceattr predict (default: its default)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth = make_photos(folder, args.n, args.faces)
        size = sum(f.stat().st_size for f in folder.iterdir()) / args.n / 1e6
        print(f"{args.n} photos of 4000x3000 (12.0 MP, {size:.1f} MB JPEG on average), "
              f"{args.faces} faces each")
        cmd = [sys.executable, "-m", "faceattr", "predict", str(folder), "--format", "jsonl",
               "--detector", args.detector]
        if args.detect_size:
            cmd += ["--detect-size", str(args.detect_size)]
        if args.model:
            cmd += ["--model", args.model]
        times, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), children_cpu()
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - t0)
            cpu.append(children_cpu() - c0)
        records = [json.loads(line) for line in run.stdout.splitlines()]
        boxes: dict[str, list] = {}
        for r in records:
            if "box" in r:
                boxes.setdefault(Path(r["file"]).name, []).append(r["box"])
        found = extra = 0
        for name, centres in truth.items():
            got = boxes.get(name, [])
            found += sum(any(b[0] < cx < b[2] and b[1] < cy < b[3] for b in got)
                         for cx, cy in centres)
            extra += sum(not any(b[0] < cx < b[2] and b[1] < cy < b[3] for cx, cy in centres)
                         for b in got)
        best = min(times)
        how = args.detector + (f", --detect-size {args.detect_size}" if args.detect_size else "") \
            + (f", --model {args.model}" if args.model else "")
        print(f"`faceattr predict` ({how}), whole command: best {best:.2f} s of "
              f"{', '.join(f'{t:.2f}' for t in times)} -> {args.n / best:.1f} photos/s; "
              f"CPU time {cpu[times.index(best)]:.2f} s ({cpu[times.index(best)] / best:.2f}x "
              "the wall time: how many cores worked)")
        print(f"faces found: {found}/{args.faces * args.n}; other detections: {extra} "
              f"(faces of the background photo or false detections); exit status "
              f"{run.returncode}")


if __name__ == "__main__":
    main()
