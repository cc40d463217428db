"""The model file: safetensors weights with our JSON metadata in the safetensors header.

Nothing is unpickled: a model file is tensors plus one JSON string under the key ``faceattr``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from faceattr.errors import FaceAttrError
from faceattr.models.config import ModelConfig
from faceattr.models.ensemble import Ensemble, EnsembleConfig
from faceattr.models.faceattr_net import FaceAttrNet

FORMAT = "faceattr-model/1"


def save_model(model: FaceAttrNet | Ensemble, path: str | Path, meta: dict[str, Any],
               dtype: torch.dtype | None = None) -> None:
    """Write weights + metadata atomically (temporary file, then rename).

    ``dtype=torch.float16`` halves the file; floating-point weights load back as float32.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {"format": FORMAT, "config": model.config.to_dict(), **meta}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"faceattr": json.dumps(full)})
    os.replace(tmp, path)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file; a clear error for anything that is not ours."""
    path = Path(path)
    if not path.is_file():
        raise FaceAttrError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("faceattr")
    except (SafetensorError, OSError, ValueError) as e:
        raise FaceAttrError(f"{path}: not a faceattr model file (not readable as safetensors: "
                            f"{str(e).splitlines()[0][:80]})") from None
    if raw is None:
        raise FaceAttrError(f"{path}: not a faceattr model file (safetensors without faceattr "
                            "metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise FaceAttrError(f"{path}: corrupt faceattr metadata") from None
    if meta.get("format") != FORMAT:
        raise FaceAttrError(f"{path}: unsupported model format {meta.get('format')!r} "
                            f"(this faceattr reads {FORMAT})")
    return meta


def build(config: dict[str, Any]) -> FaceAttrNet | Ensemble:
    """The network a model file's ``config`` describes: one FaceAttrNet, or an ensemble."""
    if config.get("architecture") == "ensemble":
        return Ensemble(EnsembleConfig.from_dict(config))
    return FaceAttrNet(ModelConfig.from_dict(config))


def load_model(path: str | Path, device: str = "cpu"
               ) -> tuple[FaceAttrNet | Ensemble, dict[str, Any]]:
    """Rebuild the network from the metadata and load its weights (eval mode)."""
    path = Path(path)
    meta = read_metadata(path)
    model = build(meta["config"])
    try:
        with safe_open(str(path), framework="pt", device=device) as f:
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        model.load_state_dict(state, strict=True)
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise FaceAttrError(f"{path}: weights that are not finite (NaN or inf) in {bad[0]}"
                                f"{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}; "
                                "not a usable model")
    except (SafetensorError, RuntimeError) as e:
        raise FaceAttrError(f"{path}: weights do not match the model config "
                            f"({str(e).splitlines()[0][:100]})") from None
    return model.to(device).eval(), meta


def run_name(path: str | Path) -> str:
    """A model's name without this machine's folders: its run folder, or its file's stem."""
    path = Path(path)
    return path.parent.name if path.stem == "model" else path.stem
