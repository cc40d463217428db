"""Write each member of an ensemble model file as a model file of its own.

    python tools/split_ensemble.py src/faceattr/weights/accurate.safetensors --out runs/members

So that an ensemble can be rebuilt with one member replaced (``tools/make_ensemble.py``) when the
members' run folders are gone: ``member-0.safetensors`` ... with the ensemble's attributes,
framing and normalisation (thresholds and temperatures are fitted again by ``make_ensemble``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faceattr.models.modelfile import load_model, save_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    ens, meta = load_model(args.model)
    names = meta.get("ensemble", {}).get("members", [])
    keep = {k: meta[k] for k in ("attributes", "input_size", "framing", "normalisation",
                                 "train_prevalence") if k in meta}
    for i, member in enumerate(ens.members):
        name = names[i] if i < len(names) else f"member-{i}"
        path = args.out / f"member-{i}.safetensors"
        save_model(member, path, {**keep, "bundled_from": name})
        print(f"wrote {path} ({name})")


if __name__ == "__main__":
    main()
