"""``faceattr export --onnx``: write the model as ONNX with a dynamic batch axis and our
metadata embedded (``metadata_props['faceattr']``)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from faceattr.inference.base import model_path
from faceattr.inference.onnx_engine import META_KEY
from faceattr.models.modelfile import load_model


def export_onnx(model: str | Path | None, out: str | Path, opset: int = 17) -> Path:
    import onnx

    src = model_path(model, "torch")
    model, meta = load_model(src)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    s = int(meta["input_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, s, s),), str(out), input_names=["images"],
                          output_names=["logits"], opset_version=opset, dynamo=False,
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load(str(out))
    meta = {**meta, "exported_from": src.name}
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    return out
