"""The table of shipped models: size, cost, speed on this CPU (both backends), dev accuracy.

    python benchmarks/models.py [--model NAME_OR_FILE ...]

For each model (default: every bundled one): parameters, file size, MFLOPs per image, network
images/s at batch 1 and 64 with PyTorch and with ONNX Runtime (exported to a temporary file), and
mean / balanced accuracy on ``celeba/test-crops-dev`` (no framing named, threshold 0.5 and tuned).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA, rate
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.evaluation.report import evaluate
from faceattr.inference.backends import load_engine
from faceattr.inference.base import DEFAULT_MODEL, bundled_models
from faceattr.inference.export import export_onnx


def measure(model: str, tmp: Path, threads: int, ds) -> dict[str, float | str]:
    engine = load_engine(model, "torch")
    onnx = load_engine(export_onnx(model, tmp / f"{Path(model).stem}.onnx"), "onnx",
                       threads=threads)
    s = engine.input_size
    with FlopCounterMode(display=False) as fc:
        engine.model(torch.randn(1, 3, s, s), all_outputs=True)  # age and expression too
    row: dict[str, float | str] = {
        "model": model, "params_m": sum(p.numel() for p in engine.model.parameters()) / 1e6,
        "file_mb": engine.path.stat().st_size / 1e6, "mflops": fc.get_total_flops() / 1e6}
    rng = np.random.default_rng(0)
    for bs in (1, 64):
        faces = rng.integers(0, 255, (bs, s, s, 3), dtype=np.uint8)
        for name, e in (("torch", engine), ("onnx", onnx)):
            row[f"{name}_b{bs}"] = rate(lambda e=e, f=faces: len(e.probabilities(f, 64)),
                                        min_seconds=4)
    for threshold in ("0.5", "tuned"):
        r = evaluate(engine, ds, threshold=threshold)
        row[f"acc_{threshold}"], row[f"bacc_{threshold}"] = (r["mean_accuracy"],
                                                              r["balanced_accuracy"])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", help="bundled names or model files (default: all "
                                               "bundled models)")
    args = ap.parse_args()
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    ds = resolve(DatasetSpec(DATA / "celeba" / "test-crops-dev",
                             DATA / "celeba" / "list_attr_celeba.txt"))
    models = args.model or sorted(bundled_models())
    print(f"{threads} CPU threads; network images/s on framed faces; accuracy on "
          f"test-crops-dev ({len(ds)} images), mean / balanced; default model: {DEFAULT_MODEL}")
    print("| model | params | file | MFLOPs | torch b1 | torch b64 | onnx b1 | onnx b64 | "
          "acc @0.5 | bal. acc @0.5 | acc tuned | bal. acc tuned |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for m in models:
            r = measure(m, Path(tmp), threads, ds)
            print(f"| {r['model']} | {r['params_m']:.2f} M | {r['file_mb']:.2f} MB | "
                  f"{r['mflops']:.0f} | {r['torch_b1']:.0f} | {r['torch_b64']:.0f} | "
                  f"{r['onnx_b1']:.0f} | {r['onnx_b64']:.0f} | {r['acc_0.5']:.2%} | "
                  f"{r['bacc_0.5']:.2%} | {r['acc_tuned']:.2%} | {r['bacc_tuned']:.2%} |",
                  flush=True)


if __name__ == "__main__":
    main()
