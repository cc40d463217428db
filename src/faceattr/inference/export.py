"""``faceattr export --onnx``: write the model as ONNX with a dynamic batch axis and our
metadata embedded (``metadata_props['faceattr']``). With ``half``, weights that are exact in
float16 (those of a float16 model file, such as the bundled ones) are stored as float16 and cast
back to float32 as ONNX Runtime loads the graph: half the file, the same numbers, the same
speed (but no longer plain initializers, which ``onnxruntime.quantization`` needs)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from faceattr.inference.base import model_path
from faceattr.inference.onnx_engine import META_KEY
from faceattr.models.ensemble import Ensemble
from faceattr.models.faceattr_net import FaceAttrNet
from faceattr.models.modelfile import load_model


def export_onnx(model: str | Path | None, out: str | Path, opset: int = 17,
                half: bool = False) -> Path:
    import onnx

    src = model_path(model, "torch")
    net, meta = load_model(src)
    net.eval()  # exported as it is (PRESERVE): batch norm and dropout in inference mode
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    s = int(meta["input_size"])
    graph = Outputs(net)
    names = ["logits", *graph.extras]
    axes = {n: {0: "batch"} for n in ["images", *names]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph if graph.extras else net, (torch.zeros(1, 3, s, s),), str(out),
                          input_names=["images"], output_names=names, opset_version=opset,
                          dynamo=False, dynamic_axes=axes,
                          training=torch.onnx.TrainingMode.PRESERVE)  # batch norm kept apart
    proto = onnx.load(str(out))
    meta = {**meta, "exported_from": src.name}
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    if half:
        store_half(proto)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    return out


class Outputs(torch.nn.Module):
    """The exported graph: ``logits`` (B, A, 2), then ``age`` (B, bins) and ``expression``
    (B, E) as probabilities when the model has those tasks."""

    def __init__(self, model: FaceAttrNet | Ensemble) -> None:
        super().__init__()
        self.model = model
        self.extras: list[str] = list(model.config.extra_tasks)

    def forward(self, x: torch.Tensor):
        if not self.extras:
            return self.model(x)
        out = self.model(x, all_outputs=True)
        return (out["logits"], *(out[k].softmax(dim=-1) for k in self.extras))


def store_half(proto) -> int:
    """Store each float32 initializer of the main graph whose values are all exact in float16
    as float16, with a Cast back to float32 in front of the graph (folded away when ONNX
    Runtime loads it). Initializers that are also graph inputs (old opsets) are left alone.
    Returns how many were converted."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    inputs = {i.name for i in graph.input}
    used = inputs | {i.name for i in graph.initializer} | {o for n in graph.node for o in n.output}
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or init.name in inputs:
            continue
        a = numpy_helper.to_array(init)
        half = a.astype(np.float16)
        if a.size < 16 or not np.array_equal(half.astype(np.float32), a):
            continue
        name, stored = init.name, f"{init.name}.f16"
        while stored in used:
            stored += "_"
        used.add(stored)
        init.CopyFrom(numpy_helper.from_array(half, stored))
        casts.append(helper.make_node("Cast", [stored], [name], name=f"cast:{name}",
                                      to=TensorProto.FLOAT))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*casts, *nodes])
    return len(casts)
