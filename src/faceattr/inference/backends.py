"""Choosing the inference backend: ONNX Runtime (base install) or PyTorch (``faceattr[train]``).

``auto`` runs ONNX Runtime for bundled models and ``.onnx`` files, and PyTorch for a
``.safetensors`` file (a model you trained). Only the torch backend imports torch.
"""

from __future__ import annotations

from pathlib import Path

from faceattr.errors import FaceAttrError
from faceattr.inference.base import EngineBase, is_bundled_name, model_path

BACKENDS = ("auto", "onnx", "torch")


def choose_backend(model: str | Path | None, backend: str = "auto") -> str:
    """``onnx`` or ``torch`` for ``model`` (a path, a bundled name or ``None``)."""
    if backend not in BACKENDS:
        raise FaceAttrError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    if is_bundled_name(model) or str(model).endswith(".onnx"):
        return "onnx"
    return "torch"


def foreign_model_file(path: Path) -> str | None:
    """Why ``path`` is not a faceattr .safetensors model, read from its header alone (the
    light install has neither torch nor safetensors); None when it looks like one."""
    import json
    import struct

    try:
        with path.open("rb") as f:
            head = f.read(8)
            size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            if not 2 <= size <= 100_000_000:
                return "not a safetensors file"
            header = json.loads(f.read(size))
    except (OSError, ValueError, RecursionError):
        return "not a safetensors file"
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or "faceattr" not in meta:
        return "safetensors without faceattr metadata"
    return None


def load_engine(model: str | Path | None = None, backend: str = "auto",
                threads: int | None = None) -> EngineBase:
    """The engine that runs ``model`` with ``backend`` (see :func:`choose_backend`)."""
    if model is not None and not is_bundled_name(model) and not Path(model).exists():
        from faceattr.inference.base import bundled_models

        if Path(model).suffix or "/" in str(model) or "\\" in str(model):  # meant as a file
            raise FaceAttrError(f"model file not found: {model}")
        raise FaceAttrError(f"model {str(model)!r}: no such file, and no bundled model of that "
                            f"name (bundled: {', '.join(sorted(bundled_models()))})")
    backend = choose_backend(model, backend)
    path = model_path(model, backend)
    if Path(path).is_dir():
        raise FaceAttrError(f"{path}: is a folder, not a model file")
    if backend == "onnx":
        from faceattr.inference.onnx_engine import OnnxEngine

        return OnnxEngine(path, threads=threads)
    try:
        import torch  # noqa: F401
    except ImportError:
        not_ours = foreign_model_file(Path(path))
        if not_ours:
            raise FaceAttrError(f"{path}: not a faceattr model file ({not_ours})") from None
        raise FaceAttrError(f"{path}: running a .safetensors model needs PyTorch: pip install "
                            "'faceattr[train]' (or export it with 'faceattr export' and use "
                            "the .onnx file)") from None
    from faceattr.inference.torch_engine import Engine

    return Engine(path, threads=threads)
