"""Arbitrary photos: the detector registry, YuNet's decoder, the face pipeline (size and score
options, big photos, EXIF, turned faces)."""

import importlib.util
import json
import textwrap

import numpy as np
import pytest
from PIL import Image

from faceattr import Recognizer
from faceattr.cli import main
from faceattr.errors import FaceAttrError
from faceattr.preprocess import detectors
from faceattr.preprocess.detectors import create_detector, detector_names, nms
from faceattr.preprocess.detectors.yunet import STRIDES, YuNet
from faceattr.preprocess.faces import MIN_FACE, FacePipeline
from faceattr.preprocess.framing import get_framing
from faceattr.preprocess.image import decode_reduced

from .compose import compose
from .conftest import TEST_CROPS

FILES = [TEST_CROPS / n for n in ("182638.jpg", "182641.jpg", "182650.jpg", "182660.jpg")]
HAS_DLIB = importlib.util.find_spec("dlib") is not None


@pytest.fixture(scope="module")
def rec():
    return Recognizer()


def inside(box, point) -> bool:
    return box[0] < point[0] < box[2] and box[1] < point[1] < box[3]


# ---- the registry ---------------------------------------------------------------------------

def test_registry_names_and_default(rec):
    assert {"yunet", "hog"} <= set(detector_names())
    assert rec.detector.name == "yunet" and isinstance(rec.detector, YuNet)
    assert Recognizer(detect=False).detector is None


def test_registry_errors_name_the_culprit():
    with pytest.raises(FaceAttrError, match="unknown detector 'retina'.*yunet"):
        create_detector("retina")
    with pytest.raises(FaceAttrError, match="'yunet' has no option 'upsample'"):
        create_detector("yunet", upsample=2)
    with pytest.raises(FaceAttrError, match="score threshold 1.5"):
        create_detector("yunet", score=1.5)


def test_a_new_detector_is_one_file_and_one_line(tmp_path, monkeypatch):
    """A module with one Detector, registered by its name, is a detector everywhere."""
    (tmp_path / "centre.py").write_text(textwrap.dedent('''
        import numpy as np
        from faceattr.preprocess.detectors.base import DetectedFace, Detector
        from faceattr.preprocess.detectors.yunet import YUNET_TEMPLATE

        class Centre(Detector):
            """Says the face fills the middle half of the picture."""
            name = "centre"
            template = YUNET_TEMPLATE
            def __init__(self, score: float = 0.5) -> None:
                super().__init__(score)
            def detect(self, image):
                w, h = image.size
                box = (w / 4, h / 4, 3 * w / 4, 3 * h / 4)
                pts = np.array([box[0], box[1]]) + YUNET_TEMPLATE * (w / 2)
                return [DetectedFace(box, pts, 1.0)]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(detectors.DETECTORS, "_entries", {**detectors.DETECTORS._entries,
                                                          "centre": "centre:Centre"})
    assert "centre" in detector_names()
    got = Recognizer(detector="centre").predict_faces(FILES[0])
    assert len(got) == 1 and got[0].face.score == 1.0 and len(got[0].probabilities) == 40


# ---- YuNet's decoder ------------------------------------------------------------------------

def test_decoder_follows_the_published_layout():
    """One confident cell per stride, hand-made: boxes and landmarks where the README's formulas
    put them, in the picture's pixels."""
    det = YuNet(score=0.5, contained=0.0)
    h, w = 64, 96
    out = {}
    for s in STRIDES:
        cells = (h // s) * (w // s)
        out[f"cls_{s}"] = np.zeros((1, cells, 1), np.float32)
        out[f"obj_{s}"] = np.zeros((1, cells, 1), np.float32)
        out[f"bbox_{s}"] = np.zeros((1, cells, 4), np.float32)
        out[f"kps_{s}"] = np.zeros((1, cells, 10), np.float32)
    # stride 8: row 2, column 3 -> cell 2 * 12 + 3 = 27
    out["cls_8"][0, 27, 0], out["obj_8"][0, 27, 0] = 0.81, 1.0  # score sqrt(0.81) = 0.9
    out["bbox_8"][0, 27] = [0.5, 0.25, np.log(2.0), np.log(3.0)]
    out["kps_8"][0, 27] = [0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1]
    boxes, points, scores = det._decode(out, h, w, det.score)
    assert scores.tolist() == pytest.approx([0.9])
    cx, cy = (3 + 0.5) * 8, (2 + 0.25) * 8
    assert boxes[0].tolist() == pytest.approx([cx - 8, cy - 12, cx + 8, cy + 12])
    np.testing.assert_allclose(points[0], [[24, 16], [32, 16], [28, 20], [24, 24], [32, 24]])


def test_known_photo_boxes_and_landmarks(rec):
    """A real test crop: one face, the box holding the landmarks, the eyes level and above the
    nose, the nose above the mouth corners; landmarks near their calibrated template once
    aligned (the same alignment the network sees)."""
    im = Image.open(FILES[0]).convert("RGB")
    faces = rec.detector.detect(im)
    assert len(faces) == 1
    f = faces[0]
    assert f.score > 0.9 and 0.3 * im.width < f.width < im.width
    lm = f.landmarks
    assert all(inside(f.box, p) for p in lm)
    assert lm[0, 0] < lm[2, 0] < lm[1, 0] and lm[3, 0] < lm[4, 0]  # image left first
    assert abs(lm[0, 1] - lm[1, 1]) < 0.1 * f.width
    assert lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min()
    from faceattr.preprocess.framing import similarity_from_landmarks

    m = similarity_from_landmarks(lm, 1, rec.detector.template)
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))
    canon = (np.c_[lm, np.ones(5)] @ inv.T)[:, :2]
    assert np.abs(canon - rec.detector.template).max() < 0.05


def test_nms_drops_overlaps_and_contained_boxes():
    boxes = np.array([[0, 0, 100, 100], [5, 5, 105, 105], [40, 60, 60, 80], [200, 0, 250, 50]],
                     float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.4).tolist() == [0, 2, 3]
    assert nms(boxes, scores, 0.4, contained=0.8).tolist() == [0, 3]  # a mouth inside a face


# ---- the pipeline ---------------------------------------------------------------------------

def test_four_faces_some_turned_25_to_30_degrees(rec, tmp_path):
    """All four faces found, each (turned, rescaled, resampled, and with other surroundings
    than the grey border it has alone) read much as when alone: decisions agree on 90% of
    attributes, probabilities within 0.12 on average (measured: up to 0.067 for upright pasted
    faces, up to 0.111 for turned ones)."""
    picture, centres = compose(FILES, angles=[0, 30, -25, -30], scales=[1.0, 1.4, 0.9, 1.2])
    path = tmp_path / "group.jpg"
    picture.save(path, quality=92)
    faces = rec.predict_faces(path)
    assert len(faces) == 4
    for f, centre in zip(FILES, centres):
        match = [p for p in faces if inside(p.face.box, centre)]
        assert len(match) == 1, f"{f.name}: {len(match)} detections around {centre}"
        single = rec.predict(f)  # the same face alone, through the same detection path
        a = np.array(list(match[0].probabilities.values()))
        b = np.array(list(single.probabilities.values()))
        agree = np.mean([match[0].decisions[k] == single.decisions[k] for k in single.decisions])
        assert agree >= 0.9, f"{f.name}: decisions agree on {agree:.0%} of attributes"
        assert np.abs(a - b).mean() < 0.12, f"{f.name}: mean |dp| {np.abs(a - b).mean():.3f}"


def test_small_faces_are_reported_as_skipped(tmp_path, capsys):
    """A face under --min-face keeps its box and says why it has no attributes; it is not a
    failure."""
    picture, centres = compose(FILES[:2], angles=[0, 0], scales=[1.0, 0.3], canvas=(800, 400))
    path = tmp_path / "big-and-small.jpg"
    picture.save(path, quality=95)
    rec = Recognizer(min_face=50)
    faces = rec.predict_faces(path)
    assert len(faces) == 2
    big, small = (faces if inside(faces[0].face.box, centres[0]) else faces[::-1])
    assert big.skipped is None and len(big.probabilities) == 40
    assert small.skipped and "under the minimum of 50 px" in small.skipped
    assert small.probabilities == {} and small.ok
    assert rec.predict(path).face.box == big.face.box  # predict() takes a usable face
    assert main(["predict", str(path), "--min-face", "50", "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [("skipped" in r, "probabilities" in r) for r in
            sorted(records, key=lambda r: r["box"][0])] == [(False, True), (True, False)]
    assert Recognizer().pipeline.min_face == MIN_FACE


def test_score_threshold_option(tmp_path):
    path = tmp_path / "face.jpg"
    Image.open(FILES[0]).save(path)
    assert len(Recognizer(detector_score=0.5).predict_faces(path)) == 1
    assert Recognizer(detector_score=1.0).predict_faces(path) == []  # nothing scores over 1


def test_12_megapixel_photo_is_decoded_reduced(tmp_path):
    """A 4000x3000 JPEG is detected on a 1/2-scale draft, and the faces come back in the full
    photo's pixels, each cut from enough resolution for the network."""
    picture, centres = compose(FILES, angles=[0, 10, 0, -10], scales=[2.5, 3.0, 1.5, 2.0],
                               canvas=(4000, 3000))
    path = tmp_path / "phone.jpg"
    picture.save(path, quality=90)
    image, scale = decode_reduced(path, long=1280)
    assert scale == 2 and image.size == (2000, 1500)
    got = FacePipeline(64, "yunet").faces(path)
    assert (got.width, got.height) == (4000, 3000) and len(got.faces) == 4
    for c in centres:
        assert sum(inside(f.detection.box, c) for f in got.faces) == 1
    # each square matches the same face cut from the photo decoded in full
    full = FacePipeline(64, "yunet").faces(Image.open(path).convert("RGB")).faces
    for f in got.faces:
        twin = min(full, key=lambda g: np.abs(np.subtract(g.detection.box,
                                                          f.detection.box)).sum())
        assert np.abs(np.subtract(twin.detection.box, f.detection.box)).max() < 20
        assert np.abs(f.pixels.astype(float) - twin.pixels).mean() < 6.0


def test_small_face_in_a_big_photo_is_cut_from_more_resolution(tmp_path):
    """A face that is small on the reduced copy is cut from a higher-resolution decode, so its
    square is as sharp as one cut from the full picture."""
    picture, _ = compose(FILES[:1], angles=[0], scales=[0.45], canvas=(1500, 1000))
    path = tmp_path / "small-face.jpg"
    picture.save(path, quality=95)
    pipe = FacePipeline(64, create_detector("yunet", max_size=640))
    reduced = pipe.faces(path).faces[0].pixels.astype(float)
    full = FacePipeline(64, create_detector("yunet", max_size=640)).faces(
        Image.open(path).convert("RGB")).faces[0].pixels.astype(float)
    assert np.abs(reduced - full).mean() < 4.0


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
    from faceattr.preprocess.detectors.base import iou_matrix

    assert iou_matrix(np.array([p.face.box]), np.array([q.face.box]))[0, 0] > 0.9  # one place


def test_picture_without_a_face(rec, tmp_path, capsys):
    blank = tmp_path / "wall.jpg"
    Image.new("RGB", (400, 300), (120, 130, 140)).save(blank)
    assert rec.predict_faces(blank) == []
    with pytest.raises(FaceAttrError, match="wall.jpg: no face found"):
        rec.predict(blank)
    rc = main(["predict", str(blank), str(FILES[0]), "--format", "jsonl"])
    out = capsys.readouterr()
    assert rc == 1 and "no face found" in out.out and "no face found" in out.err


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
    records = [json.loads(r) for r in capsys.readouterr().out.strip().splitlines()]
    # without detection the picture is one face crop: face 0, its box the crop's canonical
    # square (the default framing's, reaching past the picture), no landmarks or score
    assert len(records) == 1 and records[0]["face"] == 0
    assert records[0]["landmarks"] is None and records[0]["score"] is None
    assert records[0]["box"] == pytest.approx(list(get_framing("crop").square(800, 400)), abs=0.1)


@pytest.mark.skipif(not HAS_DLIB, reason="the hog detector needs pip install 'faceattr[hog]'")
def test_hog_stays_available(tmp_path, capsys):
    picture, _ = compose(FILES[:2], angles=[0, 0], scales=[1.0, 1.0], canvas=(800, 400))
    path = tmp_path / "pair.jpg"
    picture.save(path)
    faces = Recognizer(detector="hog").predict_faces(path)
    assert len(faces) == 2 and all(len(p.probabilities) == 40 for p in faces)
    assert main(["predict", str(path), "--detector", "hog", "--format", "jsonl"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
