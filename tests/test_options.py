"""The prediction options, defined once: a resume with other options is refused and names them;
the recognizer and the service stop their threads when closed."""

import threading

import pytest

from faceattr import Recognizer
from faceattr.cli import main
from faceattr.inference.options import PredictOptions

from .conftest import TEST_CROPS

CROPS = sorted(TEST_CROPS.glob("*.jpg"))[:3]


@pytest.mark.parametrize("changed, named", [
    (["--detect-size", "640"], "detect_size: None -> 640"),
    (["--min-face", "30"], "min_face: 20 -> 30.0"),
    (["--mirror"], "mirror: False -> True"),
    (["--fps", "2"], "fps: 5.0 -> 2.0"),
])
def test_resume_with_other_options_is_refused(tmp_path, capsys, changed, named):
    out = tmp_path / "r.jsonl"
    files = [str(f) for f in CROPS]
    assert main(["predict", *files[:2], "--output", str(out)]) == 0
    before = out.read_text()
    assert main(["predict", *files, "--output", str(out), *changed]) == 2
    err = capsys.readouterr().err
    assert "made with other settings" in err and named in err
    assert out.read_text() == before  # untouched
    # the batch size changes no answer: a resume with another one continues
    assert main(["predict", *files, "--output", str(out), "--batch-size", "1"]) == 0
    assert out.read_text().count("\n") == 3


def test_options_record_names_what_changes_answers():
    rec = Recognizer()
    a = PredictOptions().record(rec)
    assert a == PredictOptions(batch_size=7).record(rec)  # speed only
    assert a != PredictOptions(fps=2.0).record(rec)
    assert {"schema", "model_sha256", "threshold", "detect_size", "fps", "mirror"} <= set(a)


def frame_threads() -> int:
    return sum(t.name.startswith("frame") for t in threading.enumerate())


def test_recognizer_close_stops_its_threads():
    before = frame_threads()
    with Recognizer() as rec:
        for workers in (1, 2, 3):
            rec.predict_batch(CROPS, workers=workers)
        assert frame_threads() > before
    assert frame_threads() == before


def test_service_lifespan_stops_pool_and_batcher():
    from fastapi.testclient import TestClient

    from faceattr.serving.app import create_app

    app = create_app()
    with TestClient(app) as client:
        r = client.post("/v1/predict", files=[("files", ("a.jpg", CROPS[0].read_bytes(),
                                                         "image/jpeg"))])
        assert r.status_code == 200
        assert app.state.batcher._thread.is_alive()
    assert not app.state.batcher._thread.is_alive()
    assert app.state.pool._shutdown


def test_registries_are_explicit_and_take_your_own(tmp_path, capsys):
    from faceattr.errors import FaceAttrError
    from faceattr.outputs import FORMATS, format_names
    from faceattr.outputs.jsonl import Jsonl
    from faceattr.preprocess.detectors import DETECTORS, Detector

    assert format_names() == ["csv", "jsonl", "parquet", "table"]
    assert DETECTORS.names() == ["hog", "yunet"]

    class Shout(Jsonl):
        name = "shout"
        suffixes = (".shout",)

    saved = dict(FORMATS._entries)
    try:
        FORMATS.register(Shout)
        out = tmp_path / "r.shout"  # the format from the name, resumable like jsonl
        assert main(["predict", str(CROPS[0]), "--output", str(out)]) == 0
        assert '"schema": 1' in out.read_text()
    finally:
        FORMATS._entries = saved
    with pytest.raises(FaceAttrError, match="unknown output format 'shout'"):
        FORMATS.get("shout")
    with pytest.raises(FaceAttrError, match="is not a Detector"):
        DETECTORS.register(Shout)  # type: ignore[arg-type]

    class Nameless(Detector):
        name = ""

        def detect(self, image):
            return []

    with pytest.raises(FaceAttrError, match="needs a name"):
        DETECTORS.register(Nameless)
