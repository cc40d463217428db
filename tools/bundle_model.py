"""Copy a trained model into the package as the bundled default, with float16 weights.

    python tools/bundle_model.py runs/gpu2/v6.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from faceattr.models.modelfile import load_model, save_model

DEST = Path(__file__).resolve().parents[1] / "src/faceattr/weights/default.safetensors"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, default=DEST)
    args = ap.parse_args()
    model, meta = load_model(args.model)
    meta = {k: v for k, v in meta.items() if k not in ("format", "config")}
    meta["bundled_from"] = args.model.name
    save_model(model, args.out, meta, dtype=torch.float16)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
