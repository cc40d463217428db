"""Batched inference on framed faces with a loaded model (optionally with mirror averaging)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceattr.errors import FaceAttrError
from faceattr.models.faceattr_net import FaceAttrNet
from faceattr.models.modelfile import load_model
from faceattr.preprocess.tensor import normalise, to_unit

DEFAULT_MODEL = "weights/default.safetensors"


def default_model_path() -> Path:
    """The model shipped inside the package."""
    p = Path(str(resources.files("faceattr").joinpath(DEFAULT_MODEL)))
    if not p.is_file():
        raise FaceAttrError("no model named and no bundled default model in this install; "
                            "pass --model PATH")
    return p


class Engine:
    """A model plus its metadata; turns uint8 face squares (N, S, S, 3) into probabilities."""

    def __init__(self, path: str | Path | None = None, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.path = Path(path) if path is not None else default_model_path()
        self.model, self.meta = load_model(self.path)
        self.attributes: list[str] = list(self.meta["attributes"])
        self.input_size: int = int(self.meta["input_size"])
        norm = self.meta.get("normalisation", {"mean": 0.5, "std": 0.5})
        self.mean, self.std = float(norm["mean"]), float(norm["std"])
        self.tuned = np.asarray(self.meta.get("thresholds", [0.5] * len(self.attributes)))

    def thresholds(self, mode: str | float = "tuned") -> np.ndarray:
        """Per-attribute thresholds: ``"tuned"`` (stored), ``"0.5"`` or any number in (0, 1)."""
        if mode == "tuned":
            return self.tuned
        try:
            t = float(mode)
        except ValueError:
            raise FaceAttrError(f"--threshold {mode!r}: use 0.5, tuned or a number") from None
        if not 0.0 < t < 1.0:
            raise FaceAttrError(f"--threshold {t}: must lie strictly between 0 and 1")
        return np.full(len(self.attributes), t)

    @torch.inference_mode()
    def probabilities(self, faces: np.ndarray, batch_size: int = 64,
                      mirror: bool = False) -> np.ndarray:
        """P(present) for each face and attribute, shape (N, T)."""
        out = []
        for i in range(0, len(faces), batch_size):
            x = normalise(to_unit(np.ascontiguousarray(faces[i:i + batch_size])), self.mean,
                          self.std)
            p = FaceAttrNet.probabilities(self.model(x))
            if mirror:
                p = (p + FaceAttrNet.probabilities(self.model(x.flip(-1)))) / 2
            out.append(p.numpy())
        if not out:
            return np.zeros((0, len(self.attributes)), np.float32)
        return np.concatenate(out)

    def info(self) -> dict[str, Any]:
        return {"path": str(self.path), "attributes": self.attributes,
                "input_size": self.input_size}
