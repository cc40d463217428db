"""Ship a trained model inside the package under a name: float16 safetensors plus its ONNX twin.

    python tools/bundle_model.py runs/fast/model.safetensors --name fast

Writes ``src/faceattr/weights/NAME.safetensors`` (float16 weights: what training resumes from
and what ``export`` converts) and ``NAME.onnx`` exported from exactly those weights (what
inference runs, with no torch), and prints the largest probability difference of the two on
100 shared test crops (``tests/test_bundled.py`` requires at most 1e-4).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from faceattr.inference.backends import load_engine
from faceattr.inference.export import export_onnx
from faceattr.models.modelfile import load_model, run_name, save_model
from faceattr.preprocess.framing import frame_face
from faceattr.preprocess.image import open_image

WEIGHTS = Path(__file__).resolve().parents[1] / "src/faceattr/weights"
CROPS = Path(__file__).resolve().parents[2] / "shared/data/celeba/test-crops-dev"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--name", required=True, help="bundled name, e.g. fast")
    args = ap.parse_args()
    model, meta = load_model(args.model)
    meta = {k: v for k, v in meta.items() if k not in ("format", "config")}
    # the origin without this machine's folders; a re-bundled model keeps its own
    meta.setdefault("bundled_from", run_name(args.model))
    if "ensemble" in meta:
        members = meta["ensemble"]["members"]
        meta["ensemble"] = {**meta["ensemble"], "members": [run_name(Path(m)) for m in members]}
    st = WEIGHTS / f"{args.name}.safetensors"
    save_model(model, st, meta, dtype=torch.float16)
    onnx = export_onnx(st, WEIGHTS / f"{args.name}.onnx", half=True)
    a, b = load_engine(st, "torch"), load_engine(onnx, "onnx")
    files = sorted(CROPS.glob("*.jpg"))[:100]
    faces = np.stack([np.asarray(frame_face(open_image(f), a.input_size)) for f in files])
    sa, sb = a.scores(faces), b.scores(faces)
    diff = np.abs(sa.attributes - sb.attributes).max()
    extra = ""
    if sa.age is not None:
        extra += f", age {np.abs(sa.age - sb.age).max():.2e} years"
    if sa.expressions is not None:
        extra += f", expression {np.abs(sa.expressions - sb.expressions).max():.2e}"
    print(f"wrote {st} ({st.stat().st_size / 1e6:.2f} MB) and {onnx} "
          f"({onnx.stat().st_size / 1e6:.2f} MB); largest probability difference {diff:.2e}"
          f"{extra}")


if __name__ == "__main__":
    main()
