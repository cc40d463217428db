"""Ablation table: evaluate model files on a labelled set and print one row per model.

    python benchmarks/ablation.py runs/gpu1/*.safetensors [--mirror]

Default set: ../shared/data/celeba/test-crops-dev (framing ``crop``, threshold 0.5). A model
is named by its file (or, for ``RUN/model.safetensors``, its run folder); runs named ``X-sN``
(seed N) are also summarised per ``X`` as mean +- spread (half the range) over the seeds.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.evaluation.report import evaluate
from faceattr.inference.torch_engine import Engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--images", type=Path, default=DATA / "celeba" / "test-crops-dev")
    ap.add_argument("--labels", type=Path, default=DATA / "celeba" / "list_attr_celeba.txt")
    ap.add_argument("--mirror", action="store_true")
    args = ap.parse_args()
    ds = resolve(DatasetSpec(args.images, args.labels))
    print("| model | head | sequence | loss | epochs | val mean acc | test mean acc | "
          "test balanced acc | rule violations |")
    print("|---|---|---|---|---|---|---|---|---|")
    seeds: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for path in args.models:
        name = path.parent.name if path.stem == "model" else path.stem
        engine = Engine(path)
        r = evaluate(engine, ds, mirror=args.mirror)
        seeds[re.sub(r"-s\d+$", "", name)].append(
            (r["mean_accuracy"], r["balanced_accuracy"], r["consistency"]["predicted"]["any"]))
        cfg, meta = engine.meta["config"], engine.meta
        loss = meta["training"]["loss"]
        loss_name = loss["kind"] + (f" (EMA {loss['ema']})" if loss.get("ema") else "")
        print(f"| {name} | {cfg['head']} | "
              f"{cfg['sequence'] if cfg['head'] == 'bilstm' else '-'} | {loss_name} | "
              f"{meta['training']['epochs']} | {meta['metrics']['val_mean_accuracy']:.2%} | "
              f"{r['mean_accuracy']:.2%} | {r['balanced_accuracy']:.2%} | "
              f"{r['consistency']['predicted']['any']:.2%} |", flush=True)
    if any(len(v) > 1 for v in seeds.values()):
        print("\n| model | seeds | test mean acc | test balanced acc | rule violations |")
        print("|---|---|---|---|---|")
        for name, rows in seeds.items():
            a = np.array(rows) * 100
            cells = " | ".join(f"{m:.2f} ± {h:.2f}%" for m, h in
                               zip(a.mean(0), (a.max(0) - a.min(0)) / 2))
            print(f"| {name} | {len(rows)} | {cells} |")
    print(f"\nground-truth labels break the rules on "
          f"{r['consistency']['ground_truth']['any']:.2%} of the images")


if __name__ == "__main__":
    main()
