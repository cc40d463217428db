"""CPU inference speed, size and FLOPs of the bundled default model.

    python benchmarks/inference.py [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA, rate
from faceattr.inference.recognizer import Recognizer
from faceattr.inference.torch_engine import Engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    engine = Engine(args.model)
    s = engine.input_size
    params = sum(p.numel() for p in engine.model.parameters())
    with FlopCounterMode(display=False) as fc:
        engine.model(torch.randn(1, 3, s, s), all_outputs=True)
    print(f"model {engine.path.name}: {params / 1e6:.2f} M parameters, "
          f"{fc.get_total_flops() / 1e6:.0f} MFLOPs per image ({s}x{s} input), "
          f"file {engine.path.stat().st_size / 1e6:.1f} MB")
    rng = np.random.default_rng(0)
    for bs in (1, 64):
        faces = rng.integers(0, 255, (bs, s, s, 3), dtype=np.uint8)
        r = rate(lambda f=faces: len(engine.probabilities(f, batch_size=64)), min_seconds=4)
        print(f"network only, batch {bs:2d}: {r:7.0f} images/s ({1000 / r:.2f} ms per image)")
    # end to end on real files: decode + frame + network, one image at a time
    rec = Recognizer(args.model)
    files = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[:200]
    for f in files[:5]:
        rec.predict(f)
    lat = []
    for f in files:
        t0 = time.perf_counter()
        rec.predict(f)
        lat.append(time.perf_counter() - t0)
    lat_ms = np.array(lat) * 1000
    print(f"end to end (decode + frame + network), one file at a time: median "
          f"{np.median(lat_ms):.1f} ms, p95 {np.percentile(lat_ms, 95):.1f} ms per image")
    t0 = time.perf_counter()
    rec.predict_batch(files, batch_size=64)
    dt = time.perf_counter() - t0
    print(f"end to end, batches of 64 files: {len(files) / dt:.0f} images/s")


if __name__ == "__main__":
    main()
