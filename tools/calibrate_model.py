"""Fit a model file's val-split calibration again and store it (or only measure it).

    python tools/calibrate_model.py runs/fast/model.safetensors --val cache/crop108-val \
        cache/square160-val [--out runs/fast/model.calibrated.safetensors]

``faceattr train`` fits these at its end; this refits them for a model trained before, or on
other val caches, through the same routine (``evaluation.calibration.fit_calibration``): one
temperature per attribute, the tuned thresholds (moved with the temperatures, so every decision
stays), and ``grey_unreliable``, the attributes that lose more than 5 points of accuracy on the
val faces turned grey (what faceattr flags on a black-and-white face). Prints the val ECE
without temperatures, with the stored ones and with the refitted ones; writes only with --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from faceattr.data.cache import open_cache
from faceattr.evaluation.calibration import ece, fit_calibration
from faceattr.inference.backends import load_engine
from faceattr.inference.calibration import apply_temperatures
from faceattr.models.metadata import ModelMeta
from faceattr.models.modelfile import load_model, save_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="a .safetensors model file")
    ap.add_argument("--val", type=Path, nargs="+", required=True, help="val-split caches")
    ap.add_argument("--out", type=Path, help="where to write the recalibrated model")
    args = ap.parse_args()
    engine = load_engine(args.model, "torch")
    probs, grey, labels = [], [], []
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    for path in args.val:
        cache = open_cache(path)
        if not cache.attributes:
            continue  # an age or expression cache: nothing here to calibrate
        cols = [list(cache.attributes).index(a) for a in engine.attributes]
        images = np.asarray(cache.images)
        probs.append(engine.probabilities(images, calibrated=False))
        g = (images.astype(np.float32) @ luma).round().clip(0, 255).astype(np.uint8)
        grey.append(engine.probabilities(np.repeat(g[..., None], 3, -1), calibrated=False))
        labels.append(cache.labels[:, cols])
    p, y, pg = np.concatenate(probs), np.concatenate(labels), np.concatenate(grey)
    fitted = fit_calibration(engine.attributes, p, y, pg)
    stored = "none" if engine.temperatures is None else \
        f"{ece(apply_temperatures(p, engine.temperatures), y).mean():.2%}"
    cal = fitted["calibration"]
    print(f"{len(y)} val faces: ECE {cal['val_ece_before']:.2%} without temperatures, "
          f"{stored} with the stored ones, {cal['val_ece_after']:.2%} refitted; unreliable on "
          f"grey: {', '.join(fitted['grey_unreliable']) or 'none'} (stored: "
          f"{', '.join(engine.meta.get('grey_unreliable') or []) or 'none'})")
    if args.out:
        model, meta = load_model(args.model)
        save_model(model, args.out, ModelMeta.from_dict(meta).with_calibration(fitted)
                   .to_dict())
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
