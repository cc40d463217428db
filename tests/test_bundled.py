"""The bundled models: each ONNX file matches its safetensors twin, and the base install's
paths (predict, evaluate, serve, the Recognizer) run without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from faceattr.inference.backends import choose_backend, load_engine
from faceattr.inference.base import DEFAULT_MODEL, bundled_models

from .conftest import CELEBA_ATTR, TEST_CROPS

EXAMPLE = TEST_CROPS / "182638.jpg"
# Run faceattr with torch made unimportable (any `import torch` raises ImportError), as in an
# install without the train extra.
NO_TORCH = "import sys; sys.modules['torch'] = None\n"


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH + code], capture_output=True,
                          text=True, timeout=300)


def test_every_bundled_model_ships_in_both_formats():
    names = set(bundled_models("onnx"))
    assert names == set(bundled_models("torch")) and DEFAULT_MODEL in names
    assert choose_backend(None) == choose_backend(DEFAULT_MODEL) == "onnx"
    assert choose_backend("runs/x/model.safetensors") == "torch"


@pytest.mark.parametrize("name", sorted(bundled_models("onnx")))
def test_onnx_twin_matches_safetensors_on_100_test_images(name):
    from faceattr.inference.recognizer import Recognizer

    onnx, torch = load_engine(name, "onnx"), load_engine(name, "torch")
    assert onnx.path.suffix == ".onnx" and torch.path.suffix == ".safetensors"
    assert onnx.attributes == torch.attributes
    assert np.allclose(onnx.thresholds("tuned"), torch.thresholds("tuned"))
    rec = Recognizer(name, detect=False)
    faces = np.stack([rec.frame(f) for f in sorted(TEST_CROPS.glob("*.jpg"))[:100]])
    assert np.abs(onnx.probabilities(faces) - torch.probabilities(faces)).max() <= 1e-4
    # every bundled model gives age and expression, the same from both files
    a, b = onnx.scores(faces), torch.scores(faces)
    assert onnx.has_age and onnx.expressions == torch.expressions and len(onnx.expressions) == 8
    assert np.abs(a.age - b.age).max() <= 0.01 and np.abs(a.age_sd - b.age_sd).max() <= 0.01
    assert np.abs(a.expressions - b.expressions).max() <= 1e-4
    assert (a.age > 0).all() and np.allclose(a.expressions.sum(1), 1, atol=1e-4)
    # float16 weights stored as float16 in both files: the ONNX twin is not twice the size
    assert onnx.path.stat().st_size < 1.2 * torch.path.stat().st_size


@pytest.mark.slow
def test_base_paths_never_import_torch(tmp_path, test_crops_small):
    out = str(tmp_path / "r.jsonl")
    code = (
        "import json\n"
        "from faceattr import Recognizer\n"
        "from faceattr.cli import main\n"
        f"p = Recognizer().predict({str(EXAMPLE)!r})\n"
        f"rc1 = main(['predict', {str(EXAMPLE)!r}, '--format', 'jsonl', '--output', {out!r}])\n"
        f"rc2 = main(['evaluate', '--images', {str(test_crops_small)!r}, '--labels', "
        f"{str(CELEBA_ATTR)!r}])\n"
        "from faceattr.serving.app import create_app\n"
        "create_app()\n"
        "print(json.dumps([rc1, rc2, len(p.probabilities), sys.modules['torch'] is not None]))\n"
    )
    r = run_without_torch(code)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [0, 0, 40, False]


@pytest.mark.parametrize("argv", [["train", "--out", "x"], ["export", "--onnx", "x.onnx"],
                                  ["predict", "m.safetensors"]])
def test_torch_commands_name_the_extra(argv, tmp_path):
    if argv[0] == "predict":  # a .safetensors model needs the torch backend
        from faceattr.inference.base import model_path

        argv = ["predict", str(EXAMPLE), "--model", str(model_path(DEFAULT_MODEL, "torch"))]
    r = run_without_torch(f"from faceattr.cli import main; sys.exit(main({argv!r}))")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr
    assert "pip install 'faceattr[train]'" in lines[0]
