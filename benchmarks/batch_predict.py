"""Labelling a collection: end-to-end images/s of ``faceattr predict`` on files on disk.

    python benchmarks/batch_predict.py [--model fast] [--n 3000] [--pictures 20] [--pools]

Runs the real command over ``n`` test crops (decode, frame, network, writing CSV), once with
``--no-detect`` and once with detection, and prints images/s from its closing summary line. Then
compares the detectors (yunet, the default, and hog): faces missed on the test crops and on
composed pictures of 4 faces rotated by up to ±30 degrees, and their speed. ``--pools`` instead
compares worker threads with worker processes for the decode/detect/frame stage.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.compose import compose

from _common import DATA
from faceattr.preprocess.detectors import create_detector
from faceattr.preprocess.image import open_image

CROPS = DATA / "celeba" / "test-crops-dev"


def run(files: list[Path], model: str, *extra: str) -> tuple[float, float, int]:
    """(images/s from the summary line, wall seconds, inputs that failed)."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, files)))
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "faceattr", "predict", "--files-from",
                            str(listing), "--model", model, "--format", "csv", "--output",
                            str(Path(tmp) / "out.csv"), *extra],
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
    m = re.search(r"done: (\d+) images, (\d+) faces.*?, (\d+) failed, (\d+) images/s", r.stderr)
    if m is None:
        raise SystemExit(r.stderr)
    return float(m.group(4)), wall, int(m.group(3))


_REC = None


def _frame_in_process(args: tuple[str, bool]) -> int:
    """Process-pool worker: decode (+ detect) and frame one file with a per-process Recognizer."""
    global _REC
    path, detect = args
    if _REC is None:
        from faceattr.inference.recognizer import Recognizer

        _REC = Recognizer(detect=detect)
    return len(_REC.faces(path))


def compare_pools(files: list[Path], workers: int = 2) -> None:
    """Decode + detect + frame (no network) in worker threads vs worker processes."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from faceattr.inference.recognizer import Recognizer

    print(f"decode + frame (no network) of {len(files)} crops, {workers} workers:")
    for detect in (False, True):
        rec = Recognizer(detect=detect)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(rec.faces, files[:20]))
            t0 = time.perf_counter()
            list(pool.map(rec.faces, files))
            threads = len(files) / (time.perf_counter() - t0)
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_frame_in_process, [(str(f), detect) for f in files[:20]]))
            t0 = time.perf_counter()
            list(pool.map(_frame_in_process, [(str(f), detect) for f in files], chunksize=16))
            procs = len(files) / (time.perf_counter() - t0)
        print(f"  {'with' if detect else 'without'} detection: threads {threads:.0f}, "
              f"processes {procs:.0f} images/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fast")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--pictures", type=int, default=20)
    ap.add_argument("--pools", action="store_true",
                    help="only compare worker threads and worker processes for the framing")
    args = ap.parse_args()
    files = sorted(CROPS.glob("*.jpg"))[: args.n]
    if args.pools:
        compare_pools(files[:1000])
        return
    print(f"faceattr predict on {len(files)} test crops (files on disk), model {args.model}, "
          "CSV output")
    rate, wall, failed = run(files, args.model, "--no-detect")
    print(f"  --no-detect:    {rate:6.0f} images/s ({wall:.1f} s for the whole command)")
    rate, wall, failed = run(files, args.model)
    print(f"  with detection: {rate:6.0f} images/s ({wall:.1f} s for the whole command), "
          f"no face found in {failed}")
    # the two face searches, faces missed
    sample = files[:600]
    images = [open_image(f) for f in sample]
    rng = np.random.default_rng(0)
    pictures = []
    for _ in range(args.pictures):
        pick = [files[i] for i in rng.choice(len(files), 4, replace=False)]
        pictures.append(compose(pick, list(rng.uniform(-30, 30, 4)),
                                list(rng.uniform(0.8, 1.4, 4)))[0])
    print(f"face search on {len(sample)} test crops and {args.pictures} composed pictures "
          "(4 faces each, angles in [-30, 30]):")
    for mode in ("yunet", "hog"):
        det = create_detector(mode)
        t0 = time.perf_counter()
        missed = sum(not det.detect(im) for im in images)
        crops_rate = len(images) / (time.perf_counter() - t0)
        found = [min(len(det.detect(p)), 4) for p in pictures]
        print(f"  {mode:6s}: crops with no face {missed} of {len(images)} "
              f"({crops_rate:.0f} crops/s, one thread); faces found in composed pictures "
              f"{sum(found)} of {4 * len(pictures)}")


if __name__ == "__main__":
    main()
