"""PyTorch vs ONNX Runtime inference speed on this CPU, in one run; optional int8 quantisation.

    python benchmarks/backends.py [--quantize]

Exports the bundled model to a temporary ONNX file, then times the network (framed faces in,
probabilities out) at batch 1 and 64 through both backends. With ``--quantize`` it also
measures onnxruntime's dynamic int8 quantisation and its accuracy cost on test-crops-dev.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA, rate
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.evaluation.report import evaluate
from faceattr.inference.backends import load_engine
from faceattr.inference.export import export_onnx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quantize", action="store_true")
    args = ap.parse_args()
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(None, Path(tmp) / "default.onnx")
        engines = {"torch": load_engine(None, "torch"),
                   "onnxruntime": load_engine(onnx_path, "onnx", threads=threads)}
        if args.quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            q = Path(tmp) / "default.int8.onnx"
            quantize_dynamic(str(onnx_path), str(q), weight_type=QuantType.QInt8)
            engines["onnxruntime int8"] = load_engine(q, "onnx", threads=threads)
        s = engines["torch"].input_size
        rng = np.random.default_rng(0)
        print(f"{threads} CPU threads; images/s of the network on framed {s}x{s} faces")
        results: dict[tuple[str, int], float] = {}
        for bs in (1, 64):
            faces = rng.integers(0, 255, (bs, s, s, 3), dtype=np.uint8)
            for name, e in engines.items():
                results[name, bs] = rate(lambda e=e, f=faces: len(e.probabilities(f)),
                                         min_seconds=4)
            line = ", ".join(f"{n} {results[n, bs]:.0f}" for n in engines)
            ratio = results["onnxruntime", bs] / results["torch", bs]
            print(f"batch {bs:2d}: {line}  (onnxruntime / torch = {ratio:.2f}x)")
        if args.quantize:
            ds = resolve(DatasetSpec(DATA / "celeba" / "test-crops-dev",
                                     DATA / "celeba" / "list_attr_celeba.txt"))
            for name in ("onnxruntime", "onnxruntime int8"):
                r = evaluate(engines[name], ds)
                print(f"{name}: test-crops-dev mean accuracy {r['mean_accuracy']:.2%}, "
                      f"balanced {r['balanced_accuracy']:.2%}")


if __name__ == "__main__":
    main()
