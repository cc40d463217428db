"""Your own labels: evaluation on some attributes with blank cells, and fine-tuning a bundled
model on a small CSV of new attributes."""

import csv
import json

import numpy as np

from faceattr.cli import main
from faceattr.data.labels import MISSING, read_celeba_attributes, read_csv_labels
from faceattr.evaluation.metrics import attribute_metrics

from .conftest import CELEBA_ATTR


def write_csv(path, files, columns: dict[str, list], blank_every: int = 0):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", *columns])
        for i, name in enumerate(files):
            row = [columns[c][i] for c in columns]
            if blank_every and i % blank_every == 0:
                row[0] = ""  # an unknown label
            w.writerow([name, *row])


def test_blank_cells_are_unknown_and_left_out_of_the_scores(tmp_path):
    path = tmp_path / "l.csv"
    write_csv(path, ["a.jpg", "b.jpg", "c.jpg"], {"Smiling": [1, 0, 1], "Male": [0, 0, 1]},
              blank_every=2)
    table = read_csv_labels(path)
    assert table.values[:, 0].tolist() == [MISSING, 0, MISSING]
    m = attribute_metrics(np.array([[0, 0], [0, 0], [0, 1]]), table.values)
    assert m["accuracy"].tolist() == [1.0, 1.0]  # Smiling: one known label, right


def test_evaluate_scores_the_attributes_a_label_file_holds(test_crops_small, tmp_path, capsys):
    celeba = read_celeba_attributes(CELEBA_ATTR)
    rows = celeba.row_of()
    files = sorted(p.name for p in test_crops_small.glob("*.jpg"))
    cols = {a: [int(celeba.values[rows[f], celeba.attributes.index(a)]) for f in files]
            for a in ("Smiling", "Eyeglasses", "Male")}
    labels = tmp_path / "mine.csv"
    write_csv(labels, files, cols, blank_every=3)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--images", str(test_crops_small), "--labels", str(labels),
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "scored            3 of the model's 40 attributes" in text
    assert f"{-(-len(files) // 3)} blank labels left out" in text
    report = json.loads(out.read_text())
    assert list(report["per_attribute"]) == ["Eyeglasses", "Male", "Smiling"]  # model order
    # the same figures as the full label file gives for those attributes, less the blanks
    assert main(["evaluate", "--images", str(test_crops_small), "--labels", str(CELEBA_ATTR),
                 "--json", str(tmp_path / "full.json")]) == 0
    full = json.loads((tmp_path / "full.json").read_text())["per_attribute"]
    assert report["per_attribute"]["Male"]["accuracy"] == full["Male"]["accuracy"]
    assert abs(report["per_attribute"]["Smiling"]["accuracy"] -
               full["Smiling"]["accuracy"]) < 0.05
    none = tmp_path / "none.csv"
    write_csv(none, files, {"Sunburn": [0] * len(files)})
    assert main(["evaluate", "--images", str(test_crops_small), "--labels", str(none)]) == 2
    assert "holds none of the model's attributes" in capsys.readouterr().err


def test_fine_tune_a_bundled_model_on_a_small_csv(test_crops_small, tmp_path, capsys):
    """``train --init fast --images --labels``: prepared inside the run, the bundled model's
    first member as the start (its CNN kept as it is with train.freeze=backbone), the CSV's
    own attribute names as the tasks; nothing of ../shared or cache/ in the run's settings."""
    from safetensors import safe_open

    from faceattr import Recognizer
    from faceattr.inference.base import bundled_models

    celeba = read_celeba_attributes(CELEBA_ATTR)
    rows = celeba.row_of()
    files = sorted(p.name for p in test_crops_small.glob("*.jpg"))[:64]
    cols = {new: [int(celeba.values[rows[f], celeba.attributes.index(old)]) for f in files]
            for old, new in (("Smiling", "smile"), ("Eyeglasses", "glasses"))}
    labels = tmp_path / "mine.csv"
    write_csv(labels, files, cols, blank_every=5)
    out = tmp_path / "run"
    argv = ["train", "--init", "fast", "--images", str(test_crops_small), "--labels",
            str(labels), "--out", str(out), "--quiet", "--set", "train.epochs=1",
            "--set", "train.freeze=backbone", "--set", "train.batch_size=16",
            "--skip-missing"]  # the folder holds more images than the CSV names
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "images cached" in said
    assert "smile <- Smiling" in said and "glasses <- Eyeglasses" in said  # by correlation
    model = out / "model.safetensors"
    rec = Recognizer(str(model), backend="torch")
    assert rec.attributes == ["smile", "glasses"] and not rec.has_age
    assert set(rec.predict(test_crops_small / files[0]).probabilities) == {"smile", "glasses"}
    with safe_open(str(bundled_models("torch")["fast"]), "pt") as a, \
            safe_open(str(model), "pt") as b:
        key = "backbone.stages.2.body.0.0.weight"
        src = f"members.0.{key}" if f"members.0.{key}" in set(a.keys()) else key  # ensemble
        assert (a.get_tensor(src) == b.get_tensor(key)).all()  # frozen
    config = (out / "config.json").read_text()
    assert "shared" not in config and '"cache/' not in config
    assert json.loads(config)["data"]["train"] == [str((out / "cache").resolve())]
    assert main(argv) == 2  # the run exists: refused before any work
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--images", str(test_crops_small), "--out", str(tmp_path / "x")]) == 2
    assert "needs both --images DIR and --labels FILE.csv" in capsys.readouterr().err
    assert main(["train", "--init", "fastest", "--images", str(test_crops_small), "--labels",
                 str(labels), "--out", str(tmp_path / "y")]) == 2
    assert "no bundled model of that name (bundled: accurate, fast)" in capsys.readouterr().err


def test_label_csv_mistakes_are_named(tmp_path):
    import pytest

    from faceattr.errors import FaceAttrError

    cases = [("flie,smile\na.jpg,1\n", r"first column must hold the file names.*'flie'"),
             ("smile,file\n1,a.jpg\n", r"'file' is column 2: move it first"),
             ("file,smile,glasses\na.jpg,1,\nb.jpg,0,\n", r"column 'glasses' has no labels")]
    for i, (text, msg) in enumerate(cases):
        path = tmp_path / f"{i}.csv"
        path.write_text(text)
        with pytest.raises(FaceAttrError, match=msg):
            read_csv_labels(path)
