"""Calibration: ECE, fitted temperatures, engines applying them; evaluate's --by groups and
reliability chart."""

import json

import numpy as np
import pytest

from faceattr.cli import main
from faceattr.evaluation.calibration import ece, fit_temperatures, reliability
from faceattr.inference.backends import load_engine
from faceattr.inference.calibration import apply_temperatures, logit, scale_thresholds

from .conftest import CELEBA_ATTR


def test_ece_of_known_cases():
    labels = np.array([[1], [0], [1], [0]])
    assert ece(np.array([[1.0], [0.0], [1.0], [0.0]]), labels)[0] == pytest.approx(0.0)
    # always 0.9 sure, right half of the time: a gap of 0.4 in the one bin used
    assert ece(np.full((4, 1), 0.9), labels)[0] == pytest.approx(0.4)
    conf, freq, count = reliability(np.full((4, 1), 0.9), labels)
    assert conf.tolist() == pytest.approx([0.9]) and freq.tolist() == [0.5] and count.sum() == 4


def test_fit_recovers_a_known_temperature():
    """Labels drawn from sigmoid(z); a model that says sigmoid(2.5 z) is over-confident by a
    temperature of 2.5, and the fit finds it."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (20000, 2))
    labels = (rng.random(z.shape) < 1 / (1 + np.exp(-z))).astype(np.uint8)
    over = 1 / (1 + np.exp(-np.stack([2.5 * z[:, 0], 1.0 * z[:, 1]], 1)))
    t = fit_temperatures(over, labels)
    assert t[0] == pytest.approx(2.5, rel=0.08) and t[1] == pytest.approx(1.0, rel=0.08)
    assert ece(apply_temperatures(over, t), labels)[0] < ece(over, labels)[0] / 3


def test_thresholds_move_with_temperatures_and_keep_every_decision():
    rng = np.random.default_rng(1)
    p = rng.random((500, 3)).astype(np.float32)
    t, cut = np.array([0.7, 1.0, 2.0]), np.array([0.3, 0.5, 0.8])
    before = p >= cut
    after = apply_temperatures(p, t) >= scale_thresholds(cut, t)
    assert (before == after).mean() > 0.998  # equal but for float rounding at the cut
    assert np.allclose(logit(scale_thresholds(np.array([0.5]), np.array([3.0]))), 0)


def test_bundled_model_carries_temperatures_applied_by_both_engines():
    onnx, torch = load_engine("fast", "onnx"), load_engine("fast", "torch")
    assert onnx.temperatures is not None and np.allclose(onnx.temperatures, torch.temperatures)
    faces = np.random.default_rng(2).integers(0, 255, (4, 64, 64, 3), dtype=np.uint8)
    raw = onnx.probabilities(faces, calibrated=False)
    cal = onnx.probabilities(faces)
    assert np.allclose(cal, apply_temperatures(raw, onnx.temperatures), atol=1e-6)
    assert np.abs(cal - torch.probabilities(faces)).max() < 1e-4
    assert ((cal >= 0.5) == (raw >= 0.5)).all()


def test_evaluate_reports_calibration_groups_and_draws_reliability(test_crops_small, tmp_path,
                                                                   capsys):
    images, labels = test_crops_small, CELEBA_ATTR
    out, chart = tmp_path / "r.json", tmp_path / "chart.png"
    assert main(["evaluate", "--images", str(images), "--labels", str(labels), "--by", "Male",
                 "--by", "Young", "--json", str(out), "--chart", str(chart)]) == 0
    text = capsys.readouterr().out
    assert "calibration error" in text and "by Male" in text and "by Young" in text
    r = json.loads(out.read_text())
    assert 0 <= r["calibration"]["ece"] < 0.2 and r["calibration"]["temperatures"] is True
    g = r["groups"]["Male"]
    male, other = g["groups"]["Male"], g["groups"]["not Male"]
    assert male["faces"] + other["faces"] == r["images"]
    assert "Male" not in male["per_attribute"] and len(male["per_attribute"]) == 39
    assert g["gap"] == pytest.approx(male["mean_accuracy"] - other["mean_accuracy"])
    assert chart.stat().st_size > 20_000
    assert main(["evaluate", "--images", str(images), "--labels", str(labels),
                 "--by", "Beard"]) == 2
    assert "--by Beard: not an attribute" in capsys.readouterr().err


def test_temperatures_apply_on_every_path(tmp_path, test_crops_small, capsys):
    """A model file whose temperatures are far from 1: the Python API (both backends), the CLI's
    JSON lines and the service's answer all give the calibrated probability of a face, the
    network's raw probability scaled by the file's temperatures."""
    from fastapi.testclient import TestClient

    from faceattr.inference.export import export_onnx
    from faceattr.inference.recognizer import Recognizer
    from faceattr.models.modelfile import load_model, save_model
    from faceattr.serving.app import create_app

    model, meta = load_model(load_engine("fast", "torch").path)
    temps = np.linspace(0.4, 3.0, len(meta["attributes"]))
    hot, cold = tmp_path / "hot.safetensors", tmp_path / "cold.safetensors"
    save_model(model, hot, {**meta, "temperatures": temps.tolist()})
    save_model(model, cold, {k: v for k, v in meta.items() if k != "temperatures"})
    image = sorted(test_crops_small.iterdir())[0]
    attrs = meta["attributes"]

    def vector(probs: dict[str, float]) -> np.ndarray:
        return np.array([probs[a] for a in attrs])

    raw = vector(Recognizer(cold, detect=False, backend="torch").predict(image).probabilities)
    want = apply_temperatures(raw[None], temps)[0]
    assert np.abs(want - raw).max() > 0.05  # the temperatures matter for this face
    onnx = export_onnx(hot, tmp_path / "hot.onnx")
    got = {name: vector(Recognizer(p, detect=False, backend=name).predict(image).probabilities)
           for name, p in (("torch", hot), ("onnx", onnx))}
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(image), "--model", str(hot), "--no-detect",
                 "--output", str(out)]) == 0
    got["cli"] = vector(json.loads(out.read_text().splitlines()[0])["probabilities"])
    client = TestClient(create_app(hot, detect=False))
    r = client.post("/v1/predict", files=[("files", ("a.jpg", image.read_bytes(), "image/jpeg"))])
    got["service"] = vector(r.json()["results"][0]["faces"][0]["probabilities"])
    for path, probs in got.items():
        assert np.abs(probs - want).max() < 1e-3, path


def test_group_tables_text_and_markdown_agree():
    """The --by table: the same rows, gaps and face counts in the text and Markdown forms."""
    from faceattr.evaluation.report import format_groups, format_markdown, group_table

    labels = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    pred = np.array([[1, 1, 1], [1, 0, 0], [0, 0, 1], [0, 0, 0]])
    r = {"groups": group_table(pred, labels, ["A", "B", "C"], ["A"])}
    rows = [line.split() for line in format_groups(r).splitlines()]
    # group A: B right 2/2, C right 1/2; not A: B right 1/2, C right 1/2
    assert ["B", "100.00%", "50.00%", "+50.00"] in rows
    assert ["C", "50.00%", "50.00%", "+0.00"] in rows
    assert ["mean", "accuracy", "75.00%", "50.00%", "+25.00"] in rows
    assert ["faces", "2", "2"] in rows
    summary = {"per_attribute": {}, "mean_accuracy": 0.5, "balanced_accuracy": 0.5, "images": 4,
               "majority_baseline": 0.5, "consistency": {"predicted": {"any": 0.0},
                                                         "ground_truth": {"any": 0.0}},
               "calibration": {"ece": 0.1, "ece_uncalibrated": 0.1}}
    md = format_markdown({**r, **summary})
    assert "| by A | A (2) | not A (2) | gap |" in md
    assert "| B | 100.00% | 50.00% | +50.00 |" in md
    assert "| **mean** | **75.00%** | **50.00%** | **+25.00** |" in md
