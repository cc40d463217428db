"""Prepare throughput, loader throughput, and how far the loader outruns training.

    python benchmarks/data_pipeline.py [--caches cache/celeba-aligned cache/celebahq]

Builds fresh caches of the three shared sets in a temporary folder (images/s), then measures
batches of 64 with augmentation from the training caches, and one training step of the default
model at batch 64; prints their ratio (target: at least 5).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA, rate
from faceattr.data.cache import open_cache, prepare
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.models import ModelConfig
from faceattr.training.augment import AugmentConfig
from faceattr.training.config import default_config
from faceattr.training.loader import CacheBatches
from training import train_step_rate

SETS = [
    ("celeba/aligned-89x109", "celeba/list_attr_celeba.txt", "celeba-aligned"),
    ("celebahq/images-64", "celebahq/list_attr_celebahq.txt", "celebahq"),
    ("celeba/test-crops-dev", "celeba/list_attr_celeba.txt", "crop"),
]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}")
    caches = []
    with tempfile.TemporaryDirectory() as tmp:
        total_n, total_s = 0, 0.0
        for images, labels, framing in SETS:
            ds = resolve(DatasetSpec(DATA / images, DATA / labels, framing=framing))
            t0 = time.perf_counter()
            s = prepare(ds, Path(tmp) / framing, size=64, progress=False)
            dt = time.perf_counter() - t0
            total_n, total_s = total_n + s.cached, total_s + dt
            print(f"prepare {images:24s} {s.cached:6d} images in {dt:5.1f} s = "
                  f"{s.cached / dt:6.0f} images/s")
            caches.append(Path(tmp) / framing)
        print(f"prepare all three sets: {total_n} images in {total_s:.1f} s "
              f"({total_n / total_s:.0f} images/s)")

        train = [open_cache(c) for c in caches[:2]]
        torch.set_num_threads(os.cpu_count() or 1)
        loader = CacheBatches(train, batch_size=64, shuffle=True, augment_cfg=AugmentConfig(),
                              seed=0)
        it = iter(loader)

        def one_batch() -> int:
            nonlocal it
            try:
                x, _ = next(it)
            except StopIteration:
                it = iter(loader)
                x, _ = next(it)
            return len(x)

        load_rate = rate(one_batch)
        print(f"loader (batch 64, augmented): {load_rate:7.0f} images/s")

        cfg = default_config()
        x, y = next(iter(loader))
        train_rate = train_step_rate(ModelConfig.from_dict(cfg["model"]), cfg["loss"]["kind"],
                                     x, y, min_seconds=5)
        print(f"training step, default model (batch 64): {train_rate:7.0f} images/s")
        print(f"loader / training ratio: {load_rate / train_rate:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
