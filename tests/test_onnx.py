import json
import subprocess
import sys

import numpy as np
import pytest

from faceattr.errors import FaceAttrError
from faceattr.inference.backends import load_engine
from faceattr.inference.base import model_path
from faceattr.inference.export import export_onnx
from faceattr.inference.recognizer import Recognizer

from .conftest import TEST_CROPS


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    return export_onnx(None, tmp_path_factory.mktemp("onnx") / "default.onnx")


def test_parity_on_100_shared_images(onnx_model):
    files = sorted(TEST_CROPS.glob("*.jpg"))[:100]
    torch_rec = Recognizer(backend="torch")
    onnx_rec = Recognizer(onnx_model, backend="onnx")
    faces = np.stack([torch_rec.frame(f) for f in files])
    p_torch = torch_rec.engine.probabilities(faces, batch_size=64)
    p_onnx = onnx_rec.engine.probabilities(faces, batch_size=64)  # batches of 64 and 36
    assert p_torch.shape == p_onnx.shape == (len(files), 40)
    assert np.abs(p_torch - p_onnx).max() <= 1e-4


def test_metadata_travels_with_the_onnx_file(onnx_model):
    e = load_engine(onnx_model, "onnx")
    assert len(e.attributes) == 40 and e.input_size == 64
    assert e.thresholds("tuned") == pytest.approx(load_engine(None, "torch").thresholds("tuned"))


def test_onnx_backend_does_not_import_torch(onnx_model, tmp_path):
    code = (
        "import sys, json\n"
        "from faceattr import Recognizer\n"
        f"r = Recognizer({str(onnx_model)!r}, backend='onnx')\n"
        f"p = r.predict({str(sorted(TEST_CROPS.glob('*.jpg'))[0])!r})\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'n': len(p.probabilities)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == {"torch": False, "n": 40}


def test_bad_onnx_inputs(tmp_path):
    with pytest.raises(FaceAttrError, match="the onnx backend runs .onnx files"):
        load_engine(model_path(None, "torch"), "onnx")
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"nope")
    with pytest.raises(FaceAttrError, match="not an ONNX model"):
        load_engine(bad, "onnx")
    with pytest.raises(FaceAttrError, match="unknown backend"):
        load_engine(None, "tensorflow")


def test_an_ensemble_is_one_model_file_and_one_onnx_graph(tmp_path):
    """Members averaged (with their mirror images) inside one network: saved and loaded like a
    single model, exported to one ONNX graph, run by both engines alike."""
    import torch

    from faceattr.inference.backends import load_engine
    from faceattr.inference.export import export_onnx
    from faceattr.models import FaceAttrNet, ModelConfig
    from faceattr.models.ensemble import Ensemble, EnsembleConfig
    from faceattr.models.modelfile import load_model, save_model

    torch.manual_seed(0)
    cfgs = [ModelConfig(widths=[8, 16], depths=[1, 1], task_dim=8, lstm_hidden=8, input_size=32),
            ModelConfig(widths=[8, 12], depths=[1, 1], task_dim=8, lstm_hidden=8, input_size=32,
                        head="fc")]
    members = [FaceAttrNet(c).eval() for c in cfgs]
    ens = Ensemble(EnsembleConfig(cfgs, mirror=True)).eval()
    for dst, src in zip(ens.members, members):
        dst.load_state_dict(src.state_dict())
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        want = torch.stack([m(v).softmax(-1)[..., 1] for m in members
                            for v in (x, torch.flip(x, dims=[3]))]).mean(0)
        got = ens(x).softmax(-1)[..., 1]
    assert torch.allclose(got, want, atol=1e-5)
    meta = {"attributes": cfgs[0].attributes, "input_size": 32, "framing": {},
            "normalisation": {"mean": 0.5, "std": 0.5}}
    path = tmp_path / "ens.safetensors"
    save_model(ens, path, meta)
    loaded, _ = load_model(path)
    assert isinstance(loaded, Ensemble) and loaded.config.mirror
    onnx = export_onnx(path, tmp_path / "ens.onnx")
    faces = np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    a, b = load_engine(path, "torch"), load_engine(onnx, "onnx")
    assert np.abs(a.probabilities(faces) - b.probabilities(faces)).max() < 1e-4


def test_half_storage_halves_the_file_and_keeps_every_output(tmp_path):
    """A float16 model file exported with ``half``: float16 initializers, about half the file
    of the plain export, the same probabilities. On a hand-made graph, an initializer that is
    also a graph input stays float32 and a taken ``.f16`` name is not reused."""
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from faceattr.inference.backends import load_engine
    from faceattr.inference.export import store_half
    from faceattr.models import FaceAttrNet, ModelConfig
    from faceattr.models.modelfile import save_model

    torch.manual_seed(0)
    cfg = ModelConfig(widths=[16, 32], depths=[1, 1], task_dim=16, lstm_hidden=16, input_size=32)
    path = tmp_path / "m.safetensors"
    save_model(FaceAttrNet(cfg).eval(), path, {
        "attributes": cfg.attributes, "input_size": 32, "framing": {},
        "normalisation": {"mean": 0.5, "std": 0.5}}, dtype=torch.float16)
    plain = export_onnx(path, tmp_path / "plain.onnx")
    halved = export_onnx(path, tmp_path / "half.onnx", half=True)
    assert halved.stat().st_size < 0.6 * plain.stat().st_size
    types = {i.data_type for i in onnx.load(str(halved)).graph.initializer}
    assert TensorProto.FLOAT16 in types
    faces = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    a, b = load_engine(plain, "onnx"), load_engine(halved, "onnx")
    assert np.abs(a.probabilities(faces) - b.probabilities(faces)).max() < 1e-6

    w = numpy_helper.from_array(np.full((4, 4), 0.5, np.float32), "w")
    v = numpy_helper.from_array(np.full((4, 4), 0.25, np.float32), "v")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["v.f16"]),
         helper.make_node("MatMul", ["v.f16", "v"], ["y"])], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x",)]
        + [helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w, v])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    assert store_half(proto) == 1
    onnx.checker.check_model(proto, full_check=True)
    kinds = {i.name: i.data_type for i in proto.graph.initializer}
    assert kinds == {"w": TensorProto.FLOAT, "v.f16_": TensorProto.FLOAT16}
    x = np.ones((1, 4), np.float32)
    y = ort.InferenceSession(proto.SerializeToString()).run(None, {"x": x})[0]
    assert np.allclose(y, x @ np.full((4, 4), 0.5) @ np.full((4, 4), 0.25))
