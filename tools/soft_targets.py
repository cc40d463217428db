"""Distillation targets: a teacher's probabilities for every image of the training caches.

    python tools/soft_targets.py TEACHER --caches cache/celeba-aligned cache/celebahq \
        cache/crop108-train cache/square160-train --name ens

Writes ``CACHE/soft/NAME.npy`` (float16, one row per cached image, the cache's attribute order)
beside each cache, computed once (the caches are not committed, nor are these); then train the
student with ``--set data.soft="NAME"`` (and ``loss.distill``, the weight of the teacher's
probability in the target). TEACHER is any model file (an ensemble from
``tools/make_ensemble.py``, a ``.safetensors`` or ``.onnx``); its temperatures are applied.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from faceattr.data.cache import open_cache
from faceattr.errors import FaceAttrError
from faceattr.inference.backends import load_engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("teacher", type=Path)
    ap.add_argument("--caches", type=Path, nargs="+", required=True)
    ap.add_argument("--name", required=True, help="name of the soft targets (data.soft)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    engine = load_engine(args.teacher, threads=args.threads)
    for path in args.caches:
        cache = open_cache(path)
        if list(cache.attributes) != engine.attributes:
            raise FaceAttrError(f"{path}: its attributes differ from the teacher's")
        t0 = time.perf_counter()
        probs = engine.probabilities(np.asarray(cache.images), batch_size=256)
        out = Path(path) / "soft" / f"{args.name}.npy"
        out.parent.mkdir(exist_ok=True)
        tmp = out.with_name(out.name + ".tmp.npy")
        np.save(tmp, probs.astype(np.float16))
        os.replace(tmp, out)
        print(f"{out}: {len(probs)} images, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
