"""The ONNX Runtime inference engine: runs an exported model without importing torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from faceattr.errors import FaceAttrError
from faceattr.inference.base import EngineBase, model_path

META_KEY = "faceattr"


class OnnxEngine(EngineBase):
    """A model exported by ``faceattr export --onnx``, run by onnxruntime on the CPU."""

    def __init__(self, path: str | Path | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise FaceAttrError("the onnx backend needs onnxruntime, which the base install "
                                "brings: pip install faceattr") from None
        self.path = model_path(path, "onnx")
        if not self.path.is_file():
            raise FaceAttrError(f"model file not found: {self.path}")
        if self.path.suffix == ".safetensors":
            raise FaceAttrError(f"{self.path}: the onnx backend runs .onnx files; export this "
                                "model with 'faceattr export' (or use --backend torch)")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise FaceAttrError(f"{self.path}: not an ONNX model we can run "
                                f"({str(e).splitlines()[0][:100]})") from None
        raw = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if raw is None:
            raise FaceAttrError(f"{self.path}: an ONNX model without faceattr metadata")
        self.meta = json.loads(raw)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._init_meta()

    def _outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        got = dict(zip(self.output_names, self.session.run(None, {self.input_name: x})))
        logits = got.pop("logits").astype(np.float64)
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return {"attributes": (e[..., 1] / e.sum(axis=-1)).astype(np.float32), **got}
