"""The ONNX Runtime inference engine: runs an exported model without importing torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from faceattr.errors import FaceAttrError
from faceattr.inference.base import EngineBase

META_KEY = "faceattr"


class OnnxEngine(EngineBase):
    """A model exported by ``faceattr export --onnx``, run by onnxruntime on the CPU."""

    def __init__(self, path: str | Path | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise FaceAttrError("the onnx backend needs onnxruntime: pip install "
                                "'faceattr[onnx]'") from None
        if path is None:
            raise FaceAttrError("--backend onnx needs --model FILE.onnx (make one with "
                                "'faceattr export --onnx FILE.onnx')")
        self.path = Path(path)
        if not self.path.is_file():
            raise FaceAttrError(f"model file not found: {self.path}")
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
        self._init_meta()

    def _probs(self, x: np.ndarray) -> np.ndarray:
        logits = self.session.run(None, {self.input_name: x})[0].astype(np.float64)
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return (e[..., 1] / e.sum(axis=-1)).astype(np.float32)
