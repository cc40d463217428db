"""One face record, one schema: every output format and the service's answers validate against
``docs/schema/*.schema.json``, name and number the face and its box the same way, and carry age
and expression for a model that has them."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from faceattr.cli import main
from faceattr.data.labels import EXPRESSIONS
from faceattr.results import columns, flatten

from .compose import compose
from .conftest import TEST_CROPS

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schema"
FACE = json.loads((SCHEMAS / "face.schema.json").read_text())
ANSWER = json.loads((SCHEMAS / "answer.schema.json").read_text())
REGISTRY = Registry().with_resource(FACE["$id"], Resource.from_contents(FACE))
FACES = Draft202012Validator(FACE, registry=REGISTRY)
ANSWERS = Draft202012Validator(ANSWER, registry=REGISTRY)


def valid(record, validator=FACES):
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(record)]
    assert not errors, errors
    return record


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A photo with two faces, a face crop, and a broken file."""
    d = tmp_path_factory.mktemp("inputs")
    picture, _ = compose(sorted(TEST_CROPS.glob("*.jpg"))[:2], [0, 0], [1.0, 1.0],
                         canvas=(800, 400))
    picture.save(d / "pair.jpg")
    (d / "crop.jpg").write_bytes(sorted(TEST_CROPS.glob("*.jpg"))[2].read_bytes())
    (d / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return [d / "pair.jpg", d / "crop.jpg", d / "broken.jpg"]


def run(args, capsys):
    main(args)
    return capsys.readouterr().out


@pytest.mark.parametrize("model", ["default", "joint"])
def test_every_format_writes_the_one_record(model, inputs, joint_onnx, tmp_path, capsys):
    opts = [] if model == "default" else ["--model", str(joint_onnx)]
    files = [str(p) for p in inputs]
    records = [json.loads(line) for line in
               run(["predict", *files, "--format", "jsonl", *opts], capsys).splitlines()]
    for r in records:
        valid(r)
    faces = [r for r in records if "error" not in r]
    assert [(Path(r["file"]).name, r["face"]) for r in faces] == \
        [("pair.jpg", 0), ("pair.jpg", 1), ("crop.jpg", 0)]
    assert next(r for r in records if "error" in r)["file"].endswith("broken.jpg")
    from faceattr import Recognizer

    # both bundled models have age and expression too; the fixture model is trained jointly
    joint = Recognizer(None if model == "default" else joint_onnx, detect=False).has_age
    assert joint
    if joint:
        for r in faces:
            assert 0 <= r["age"] <= 100 and r["age_range"][0] <= r["age"] <= r["age_range"][1]
            assert list(r["expressions"]) == list(EXPRESSIONS)
            assert r["expression"] == max(r["expressions"], key=r["expressions"].get)
            assert sum(r["expressions"].values()) == pytest.approx(1.0, abs=1e-3)
    else:
        assert not any("age" in r or "expression" in r for r in faces)
    attrs = list(faces[0]["probabilities"])
    extras = (list(EXPRESSIONS) if joint else [], joint)
    want = [flatten(r, attrs, *extras) for r in records]
    # CSV: the same record flattened, column for column
    out = tmp_path / f"{model}.csv"
    run(["predict", *files, "--output", str(out), *opts], capsys)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == columns(attrs, *extras)
    assert [{k: v for k, v in r.items()} for r in rows] == \
        [{k: "" if v is None else str(v) for k, v in w.items()} for w in want]
    if joint:
        assert {"age", "age_sd", "age_low", "age_high", "expression",
                "expression_happiness"} <= set(rows[0])
    # Parquet: the same rows (float32 columns)
    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / f"{model}-parquet"
    run(["predict", *files, "--output", str(folder), "--format", "parquet", *opts], capsys)
    got = [r for part in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(part)
           .to_pylist()]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert list(g) == list(w)
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] == pytest.approx(v, abs=1e-4), k
            else:
                assert g[k] == v, k
    # the table: age and expression above the attributes
    table = run(["predict", str(inputs[1]), *opts], capsys)
    if joint:
        lines = table.splitlines()
        assert lines[1].startswith("age ") and lines[2].startswith("expression ")
        assert lines[3].startswith("attribute")
    else:
        assert "expression" not in table


@pytest.mark.parametrize("model", ["default", "joint"])
def test_service_answers_validate_and_match_json_lines(model, inputs, joint_onnx, capsys):
    from fastapi.testclient import TestClient

    from faceattr.serving.app import create_app

    client = TestClient(create_app(None if model == "default" else joint_onnx))
    files = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in inputs]
    r = client.post("/v1/predict", files=files)
    assert r.status_code == 200, r.text
    answer = valid(r.json(), ANSWERS)
    web = [f for res in answer["results"] for f in res["faces"]]
    opts = [] if model == "default" else ["--model", str(joint_onnx)]
    cli = [json.loads(line) for line in run(["predict", *map(str, inputs), "--format", "jsonl",
                                             *opts], capsys).splitlines()]
    cli = [c for c in cli if "error" not in c]
    # the same record, the file named as uploaded
    assert [{**c, "file": Path(c["file"]).name} for c in cli] == web
    assert answer["results"][2]["status"] == 415 and answer["results"][2]["faces"] == []


def test_video_tracks_carry_mean_age_and_expression_shares(joint_onnx, tmp_path, capsys):
    pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    from .videos import make_video

    path = tmp_path / "clip.mp4"
    make_video(path, sorted(TEST_CROPS.glob("*.jpg"))[:3], seconds=6.0)
    records = [valid(json.loads(line)) for line in
               run(["predict", str(path), "--format", "jsonl", "--model", str(joint_onnx)],
                   capsys).splitlines()]
    frames = [r for r in records if "frame" in r]
    tracks = [r for r in records if r.get("summary")]
    assert frames and tracks
    for t in tracks:
        mine = [f for f in frames if f["track"] == t["track"] and "age" in f]
        assert t["age"] == pytest.approx(np.mean([f["age"] for f in mine]), abs=0.06)
        shares = {e: sum(f["expression"] == e for f in mine) / len(mine) for e in EXPRESSIONS}
        assert t["expressions"] == pytest.approx(shares, abs=1e-4)
        assert t["expression"] == max(shares, key=shares.get)
