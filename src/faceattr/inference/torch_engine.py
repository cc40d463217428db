"""The PyTorch inference engine: a safetensors model file run with torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from faceattr.inference.base import EngineBase, model_path
from faceattr.models.faceattr_net import FaceAttrNet
from faceattr.models.modelfile import load_model


class Engine(EngineBase):
    """A faceattr model file loaded into PyTorch (eval mode, CPU)."""

    def __init__(self, path: str | Path | None = None, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.path = model_path(path, "torch")
        self.model, self.meta = load_model(self.path)
        self._init_meta()

    @torch.inference_mode()
    def _outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out = self.model(torch.from_numpy(x), all_outputs=True)
        got = {"attributes": FaceAttrNet.probabilities(out.pop("logits")).numpy()}
        return got | {k: v.softmax(dim=-1).numpy() for k, v in out.items()}
