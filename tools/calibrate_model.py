"""Fit one temperature per attribute on the official val split and store it in a model file.

    python tools/calibrate_model.py runs/fast/model.safetensors --val cache/crop108-val \
        cache/square160-val --out runs/fast/model.calibrated.safetensors

New models get their temperatures at the end of ``faceattr train``; this does the same for a
model trained before. The tuned thresholds are moved with the temperatures, so every decision
stays as it was; only the probabilities change. Prints the val split's ECE before and after.
Also measures the model on the val faces turned grey and stores, as ``grey_unreliable``, the
attributes that lose more than 5 points of accuracy there (what faceattr flags on a
black-and-white face). A model that already has temperatures is only measured: the val ECE
without and with its stored temperatures is printed and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from faceattr.data.cache import open_cache
from faceattr.evaluation.calibration import ece, fit_temperatures
from faceattr.inference.backends import load_engine
from faceattr.inference.calibration import apply_temperatures, scale_thresholds
from faceattr.models.modelfile import load_model, save_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="a .safetensors model file")
    ap.add_argument("--val", type=Path, nargs="+", required=True, help="val-split caches")
    ap.add_argument("--out", type=Path, help="where to write the calibrated model")
    args = ap.parse_args()
    engine = load_engine(args.model, "torch")
    if engine.temperatures is None and args.out is None:
        ap.error("--out: where to write the calibrated model")
    if engine.temperatures is not None and args.out is not None:
        ap.error(f"{args.model} already has temperatures: it is measured, not rewritten "
                 "(leave out --out)")
    probs, grey, labels = [], [], []
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    for path in args.val:
        cache = open_cache(path)
        cols = [list(cache.attributes).index(a) for a in engine.attributes]
        images = np.asarray(cache.images)
        probs.append(engine.probabilities(images, calibrated=False))
        g = (images.astype(np.float32) @ luma).round().clip(0, 255).astype(np.uint8)
        grey.append(engine.probabilities(np.repeat(g[..., None], 3, -1), calibrated=False))
        labels.append(cache.labels[:, cols])
    p, y, pg = np.concatenate(probs), np.concatenate(labels), np.concatenate(grey)
    drop = (((p >= 0.5) == y).mean(0) - ((pg >= 0.5) == y).mean(0)) * 100
    unreliable = [a for a, d in zip(engine.attributes, drop) if d > 5.0]
    if engine.temperatures is not None:
        stored = ece(apply_temperatures(p, engine.temperatures), y).mean()
        print(f"{len(y)} val faces: ECE {ece(p, y).mean():.2%} without temperatures, "
              f"{stored:.2%} with the stored ones; unreliable on grey: "
              f"{', '.join(unreliable) or 'none'} (stored: "
              f"{', '.join(engine.meta.get('grey_unreliable') or []) or 'none'})")
        return
    temps = fit_temperatures(p, y)
    before, after = ece(p, y), ece(apply_temperatures(p, temps), y)
    model, meta = load_model(args.model)
    meta = {k: v for k, v in meta.items() if k not in ("format", "config")}
    raw_thresholds = np.asarray(meta.get("thresholds", [0.5] * len(engine.attributes)))
    meta["temperatures"] = [round(float(t), 5) for t in temps]
    meta["thresholds"] = [float(t) for t in scale_thresholds(raw_thresholds, temps)]
    meta["calibration"] = {"val_images": len(y), "val_ece_before": float(before.mean()),
                           "val_ece_after": float(after.mean())}
    meta["grey_unreliable"] = unreliable
    save_model(model, args.out, meta)
    print(f"{len(y)} val faces: ECE {before.mean():.2%} -> {after.mean():.2%}; temperatures "
          f"{temps.min():.2f}..{temps.max():.2f} (median {np.median(temps):.2f}); on grey val "
          f"faces the largest loss is {drop.max():.1f} points ({engine.attributes[drop.argmax()]})"
          f"; unreliable on grey: {', '.join(unreliable) or 'none'}; wrote {args.out}")


if __name__ == "__main__":
    main()
