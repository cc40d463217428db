"""``faceattr.draw`` and ``--annotate --show``: labels that scale with the picture, chosen by the
user, and small faces drawn lightly without labels."""

import numpy as np
import pytest
from PIL import Image

import faceattr
from faceattr.cli import main
from faceattr.inference.annotate import _font, check_show, describe
from faceattr.preprocess.detectors import DetectedFace
from faceattr.results import Prediction, Result

from .conftest import TEST_CROPS

CROPS = sorted(TEST_CROPS.glob("*.jpg"))


def face(box, skipped=None, index=0, **probs) -> Prediction:
    det = DetectedFace(box, np.array([[box[0] + 5, box[1] + 5]] * 5, float), 0.9,
                       skipped=skipped)
    p = {"Smiling": 0.93, "Eyeglasses": 0.02, **probs}
    return Prediction("x.jpg", p, {a: v >= 0.5 for a, v in p.items()}, face=det, face_index=index,
                      age=31.2, expressions={"neutral": 0.2, "happiness": 0.8})


def test_labels_name_what_is_asked_for():
    p = face((10, 10, 60, 60))
    assert describe(p) == "31 y, happiness; Smiling"
    assert describe(p, show=["Eyeglasses", "Smiling", "age"]) == "Eyeglasses 2%, Smiling 93%, 31 y"
    assert check_show(["smiling", " Age"], ["Smiling", "Male"]) == ["Smiling", "age"]
    with pytest.raises(faceattr.FaceAttrError, match="--show Smilng: not an attribute"):
        check_show(["Smilng"], ["Smiling", "Male"])


def test_draw_boxes_labels_and_light_small_faces():
    picture = Image.new("RGB", (400, 300), (128, 128, 128))
    preds = [face((20, 20, 120, 140)), face((300, 30, 312, 42), skipped="too small", index=1)]
    out = faceattr.draw(picture, Result("x.jpg", preds))
    assert out.size == picture.size and out is not picture
    a = np.asarray(out).astype(int)
    assert (np.asarray(picture) == 128).all()  # the input is left as it was
    assert (a[20, 60] == [59, 125, 221]).all()  # the answered face's box
    below = a[141:150, 22:100]  # its label, white text on the box colour
    assert (below == [59, 125, 221]).all(-1).mean() > 0.3 and (below > 240).all(-1).any()
    assert (a[30, 306] == [170, 170, 170]).all()  # the small face: a light box
    assert (a[43:60, 300:312] == 128).all()  # and no label under it


def test_labels_scale_with_the_picture():
    assert _font(Image.new("RGB", (640, 480))).size == 11
    assert _font(Image.new("RGB", (4000, 3000))).size == 50


def test_annotate_show_on_the_cli(tmp_path, capsys):
    out = tmp_path / "ann"
    assert main(["predict", str(CROPS[0]), "--annotate", str(out), "--show",
                 "Smiling,Eyeglasses,age"]) == 0
    assert "annotated 1 input in" in capsys.readouterr().err
    assert (out / f"{CROPS[0].stem}.annotated.jpg").is_file()
    assert main(["predict", str(CROPS[0]), "--annotate", str(tmp_path / "b"), "--show",
                 "Smilng"]) == 2
    assert "--show Smilng: not an attribute of this model" in capsys.readouterr().err
    assert main(["predict", str(CROPS[0]), "--show", "Smiling"]) == 2
    assert "give --annotate DIR too" in capsys.readouterr().err
