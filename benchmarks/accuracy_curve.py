"""Accuracy against training compute: each member's val curve by epoch, and ensembles of the
first k members (k = 1, 2, ...) on the official val split and on the test crops.

    python benchmarks/accuracy_curve.py src/faceattr/weights/fast.safetensors \
        runs/m1/model.safetensors ... --val cache/crop108-val cache/square160-val

Members are taken in the order given. Compute is counted in *fast-epochs*: one epoch over all
train caches of the fast architecture (its multiply-adds per image are the unit); a member's
cost is epochs x its multiply-adds / the fast model's. Hours are the members' own wall-clock
epoch times from their training history (two cores, slower where the machine was shared).
Ensembles average the members' probabilities (as ``models/ensemble.py`` does), threshold 0.5.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr.data.cache import open_cache
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.evaluation.metrics import summary
from faceattr.evaluation.report import frame_dataset
from faceattr.inference.torch_engine import Engine


def macs(engine: Engine) -> float:
    """Multiply-adds per image (half the counted FLOPs)."""
    x = torch.zeros(1, 3, engine.input_size, engine.input_size)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        engine.model(x, all_outputs=True)
    return counter.get_total_flops() / 2


def both(engine: Engine, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw P(present) on the faces and on their mirror images."""
    p = engine.probabilities(faces, batch_size=256, calibrated=False)
    return p, engine.probabilities(faces[:, :, ::-1], batch_size=256, calibrated=False)


def acc(p: np.ndarray, y: np.ndarray) -> float:
    return summary((p >= 0.5).astype(np.uint8), y)[0] * 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("members", type=Path, nargs="+")
    ap.add_argument("--val", type=Path, nargs="+", required=True, help="val-split caches")
    ap.add_argument("--images", type=Path, default=DATA / "celeba" / "test-crops-dev")
    ap.add_argument("--labels", type=Path, default=DATA / "celeba" / "list_attr_celeba.txt")
    args = ap.parse_args()
    torch.set_num_threads(2)
    engines = [Engine(p) for p in args.members]
    attrs = engines[0].attributes
    caches = [open_cache(p) for p in args.val]
    xv = np.concatenate([np.asarray(c.images) for c in caches])
    yv = np.concatenate([c.labels[:, [list(c.attributes).index(a) for a in attrs]] for c in caches])
    ds = resolve(DatasetSpec(args.images, args.labels))
    xt, yt, errors, _ = frame_dataset(ds, engines[0].input_size)
    if errors:
        print(f"{len(errors)} test images could not be read and are left out")
    yt = yt[:, [list(ds.attributes).index(a) for a in attrs]]

    unit = macs(Engine("fast"))
    rows = []
    print("| member | M mult-adds | epochs | hours | val @5 | val @10 | val @15 | val final | "
          "test | test mirror |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path, eng in zip(args.members, engines):
        name = path.parent.name if path.stem == "model" else path.stem
        hist = eng.meta.get("metrics", {}).get("history", [])
        curve = {int(h["epoch"]): float(h["val_mean_accuracy"]) * 100 for h in hist}
        hours = sum(float(h.get("seconds", 0)) for h in hist) / 3600
        epochs = int(eng.meta.get("training", {}).get("epochs", len(hist)))
        pv, pt = both(eng, xv), both(eng, xt)
        m = macs(eng)
        rows.append((name, epochs * m / unit, hours, pv, pt))
        at = " | ".join(f"{curve[e]:.2f}" if e in curve else "-" for e in (5, 10, 15))
        print(f"| {name} | {m / 1e6:.1f} | {epochs} | {hours:.2f} | {at} | {acc(pv[0], yv):.2f} | "
              f"{acc(pt[0], yt):.2f} | {acc((pt[0] + pt[1]) / 2, yt):.2f} |", flush=True)

    print("\n| members | fast-epochs | hours | val | val mirror | test | test mirror |")
    print("|---|---|---|---|---|---|---|")
    for k in range(1, len(rows) + 1):
        first = rows[:k]
        cost, hours = sum(r[1] for r in first), sum(r[2] for r in first)
        pv = np.mean([r[3][0] for r in first], 0)
        pvm = np.mean([p for r in first for p in r[3]], 0)
        pt = np.mean([r[4][0] for r in first], 0)
        ptm = np.mean([p for r in first for p in r[4]], 0)
        print(f"| {' + '.join(r[0] for r in first)} | {cost:.0f} | {hours:.2f} | {acc(pv, yv):.2f} "
              f"| {acc(pvm, yv):.2f} | {acc(pt, yt):.2f} | {acc(ptm, yt):.2f} |", flush=True)


if __name__ == "__main__":
    main()
