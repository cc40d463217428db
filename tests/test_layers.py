"""The package's layers: a module imports only from its own layer or the ones below it, and the
base install's layers never import torch."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "faceattr"
# lowest first: storage (files, tar shards) < preprocess (decode, detect, frame) < data (labels,
# datasets, caches) < models < outputs < inference < evaluation < training < serving < cli
ORDER = ["errors", "storage", "preprocess", "data", "results", "models", "outputs", "inference",
         "evaluation", "training", "serving", "cli"]
BASE = ["storage", "preprocess", "data", "results", "outputs"]  # run in the base install (no torch)


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def test_no_import_runs_up_the_layers():
    up = []
    for f in ROOT.rglob("*.py"):
        layer = f.relative_to(ROOT).parts[0].removesuffix(".py")
        if layer not in ORDER:
            continue
        for m in imports(f):
            parts = m.split(".")
            if parts[0] == "faceattr" and len(parts) > 1 and parts[1] in ORDER \
                    and ORDER.index(parts[1]) > ORDER.index(layer):
                up.append(f"{f.relative_to(ROOT)} imports {m}")
    assert not up, "\n".join(up)


def test_base_layers_never_import_torch():
    found = [f"{f.relative_to(ROOT)}" for layer in BASE for f in (ROOT / layer).rglob("*.py")
             if any(m.split(".")[0] in ("torch", "safetensors") for m in imports(f))]
    assert not found, found
