"""Arbitrary photos: detection + landmark alignment (needs the faceattr[detect] extra)."""

import numpy as np
import pytest
from PIL import Image

from faceattr.cli import main
from faceattr.errors import FaceAttrError
from faceattr.preprocess.detect import detector_available

from .compose import compose
from .conftest import TEST_CROPS

pytestmark = pytest.mark.skipif(not detector_available(),
                                reason="pip install 'faceattr[detect]'")

FILES = [TEST_CROPS / n for n in ("182638.jpg", "182641.jpg", "182650.jpg", "182660.jpg")]


@pytest.fixture(scope="module")
def rec():
    from faceattr import Recognizer

    return Recognizer(detect=True)


def test_four_faces_some_rotated_30_degrees(rec, tmp_path):
    picture, centres = compose(FILES, angles=[0, 30, -20, -30], scales=[1.0, 1.4, 0.9, 1.2])
    path = tmp_path / "group.jpg"
    picture.save(path, quality=92)
    faces = rec.predict_faces(path)
    assert len(faces) == 4
    for f, centre in zip(FILES, centres):
        # the detected face whose box holds this pasted face's centre
        match = [p for p in faces if p.face.box[0] < centre[0] < p.face.box[2]
                 and p.face.box[1] < centre[1] < p.face.box[3]]
        assert len(match) == 1, f"{f.name}: {len(match)} detections around {centre}"
        single = rec.predict(f)  # the same face alone, through the same detection path
        a = np.array(list(match[0].probabilities.values()))
        b = np.array(list(single.probabilities.values()))
        agree = np.mean([match[0].decisions[k] == single.decisions[k] for k in single.decisions])
        assert agree >= 0.9, f"{f.name}: decisions agree on {agree:.0%} of attributes"
        assert np.abs(a - b).mean() < 0.06, f"{f.name}: mean |dp| {np.abs(a - b).mean():.3f}"


def test_picture_without_a_face(rec, tmp_path, capsys):
    blank = tmp_path / "wall.jpg"
    Image.new("RGB", (400, 300), (120, 130, 140)).save(blank)
    assert rec.predict_faces(blank) == []
    with pytest.raises(FaceAttrError, match="wall.jpg: no face found"):
        rec.predict(blank)
    rc = main(["predict", str(blank), str(FILES[0]), "--format", "jsonl"])
    out = capsys.readouterr()
    assert rc == 1 and "no face found" in out.out and "no face found" in out.err


def test_exif_orientation_is_honoured(rec, tmp_path):
    """A phone photo stored sideways with an EXIF rotation tag is read upright."""
    upright = Image.open(FILES[0]).convert("RGB")
    sideways = upright.rotate(90, expand=True)  # pixels stored rotated...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and the tag that says "rotate 90 clockwise to view"
    path = tmp_path / "phone.jpg"
    sideways.save(path, exif=exif, quality=95)
    p, q = rec.predict(path), rec.predict(FILES[0])
    assert np.abs(np.array(list(p.probabilities.values()))
                  - np.array(list(q.probabilities.values()))).mean() < 0.05


def test_annotate_and_no_detect(tmp_path, capsys):
    picture, _ = compose(FILES[:2], angles=[0, 25], scales=[1.0, 1.0], canvas=(800, 400))
    path = tmp_path / "pair.jpg"
    picture.save(path)
    out = tmp_path / "ann"
    assert main(["predict", str(path), "--annotate", str(out), "--format", "jsonl"]) == 0
    records = capsys.readouterr().out.strip().splitlines()
    assert len(records) == 2 and '"box"' in records[0] and '"landmarks"' in records[0]
    assert (out / "pair.annotated.jpg").stat().st_size > 10_000
    assert main(["predict", str(path), "--no-detect", "--format", "jsonl"]) == 0
    records = capsys.readouterr().out.strip().splitlines()
    assert len(records) == 1 and '"box"' not in records[0]
