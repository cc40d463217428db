import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceattr import FaceAttrError, Prediction, Recognizer
from faceattr.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "face.jpg"


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer()  # the bundled default model


def test_default_model_loads_offline_and_predicts(rec):
    p = rec.predict(EXAMPLE)
    assert isinstance(p, Prediction) and p.ok
    assert list(p.probabilities) == rec.attributes and len(rec.attributes) == 40
    assert all(0.0 <= v <= 1.0 for v in p.probabilities.values())
    # the example is a smiling woman in a hat (CelebA test image 182638, labels agree)
    assert p.decisions["Smiling"] and p.decisions["Wearing_Hat"] and not p.decisions["Male"]
    d = p.to_dict()
    assert d["file"] == str(EXAMPLE) and d["schema"] == 1
    # detection is the default of the API as of the CLI and the service; the record has the
    # same keys with and without it (no landmarks or score for a crop)
    keys = {"schema", "file", "face", "box", "landmarks", "score", "probabilities", "decisions",
            "unreliable"}
    assert keys <= set(d) and d["landmarks"] is not None
    assert p.box == p.where() and all(type(v) is float for v in p.box)  # the detection's box
    crop = Recognizer(detect=False).predict(EXAMPLE).to_dict()
    assert set(crop) == set(d) and crop["landmarks"] is None and crop["face"] == 0


def test_path_pil_and_array_inputs_agree(rec):
    img = Image.open(EXAMPLE)
    a = rec.predict(EXAMPLE).probabilities
    b = rec.predict(img).probabilities
    c = rec.predict(np.asarray(img.convert("RGB"))).probabilities
    assert a == pytest.approx(b, abs=1e-6) and a == pytest.approx(c, abs=1e-6)


def test_batch_equals_single_and_keeps_bad_files(rec, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    results = rec.predict_batch([EXAMPLE, bad, EXAMPLE], batch_size=2)
    assert [r.ok for r in results] == [True, False, True]  # one result per input
    assert "broken.jpg" in results[1].error and results[1].faces == []
    assert [len(r.faces) for r in results] == [1, 0, 1]
    assert results[0].faces[0].probabilities == pytest.approx(
        rec.predict(EXAMPLE).probabilities, abs=1e-5)
    with pytest.raises(FaceAttrError, match="broken.jpg"):
        rec.predict(bad)


def test_threshold_modes():
    half = Recognizer(threshold=0.5)
    tuned = Recognizer(threshold="tuned")
    low = Recognizer(threshold=0.01)
    assert (half.thresholds == 0.5).all()
    assert not (tuned.thresholds == 0.5).all()
    assert tuned.thresholds == pytest.approx(tuned.engine.meta["thresholds"])
    p_half, p_low = half.predict(EXAMPLE), low.predict(EXAMPLE)
    assert p_half.probabilities == p_low.probabilities
    assert sum(p_low.decisions.values()) >= sum(p_half.decisions.values())
    for a, v in p_half.probabilities.items():
        assert p_half.decisions[a] == (v >= 0.5)
    with pytest.raises(FaceAttrError, match="between 0 and 1"):
        Recognizer(threshold=1.5)
    with pytest.raises(FaceAttrError, match="use 0.5, tuned or a number"):
        Recognizer(threshold="often")


def test_load_rejects_foreign_files(tmp_path):
    f = tmp_path / "x.safetensors"
    f.write_text("hello")
    with pytest.raises(FaceAttrError, match="not a faceattr model file"):
        Recognizer.load(f)


def test_predict_cli_formats(tmp_path, capsys):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.jpg").write_bytes(EXAMPLE.read_bytes())
    (folder / "b.jpg").write_bytes(EXAMPLE.read_bytes())
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    assert main(["predict", str(EXAMPLE)]) == 0
    table = capsys.readouterr().out
    assert "Smiling" in table and "yes" in table

    out = tmp_path / "r.jsonl"
    assert main(["predict", str(folder), "--format", "jsonl", "--output", str(out)]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(Path(r["file"]).name for r in recs) == ["a.jpg", "b.jpg"]
    assert len(recs[0]["probabilities"]) == 40

    assert main(["predict", str(EXAMPLE), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["Smiling"] == "1" and float(rows[0]["Smiling_prob"]) > 0.5


def test_predict_cli_bad_files_do_not_abort(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    rc = main(["predict", str(EXAMPLE), str(bad), str(tmp_path / "missing.jpg"),
               "--format", "jsonl"])
    captured = capsys.readouterr()
    assert rc == 1
    recs = [json.loads(line) for line in captured.out.splitlines()]
    assert [("error" in r) for r in recs] == [False, True]
    assert "missing.jpg: no such file or folder" in captured.err
    assert "2 of 3 inputs failed" in captured.err
