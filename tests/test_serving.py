import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from faceattr.serving.app import create_app

from .badinput import png_claiming

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "face.jpg"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(max_upload_bytes=2_000_000))


def test_health_and_attributes(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["model"].endswith(".onnx")
    a = client.get("/v1/attributes").json()
    assert len(a["attributes"]) == 40
    grouped = [x for names in a["groups"].values() for x in names]
    assert sorted(grouped) == sorted(a["attributes"])
    assert set(a["tuned_thresholds"]) == set(a["attributes"])


def test_predict_several_files(client):
    data = EXAMPLE.read_bytes()
    r = client.post("/v1/predict", files=[("files", ("a.jpg", data, "image/jpeg")),
                                          ("files", ("../../etc/b.jpg", data, "image/jpeg"))])
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["file"] for x in res] == ["a.jpg", "b.jpg"]  # never a path
    face = res[0]["faces"][0]
    assert len(face["box"]) == 4 and face["decisions"]["Smiling"] is True
    assert res[0]["faces"][0]["probabilities"] == pytest.approx(res[1]["faces"][0]["probabilities"])
    tuned = client.post("/v1/predict?threshold=tuned",
                        files=[("files", ("a.jpg", data, "image/jpeg"))]).json()
    assert tuned["threshold"] == "tuned"


def test_bad_uploads(client):
    r = client.post("/v1/predict", files=[("files", ("x.jpg", b"hello", "image/jpeg"))])
    assert r.status_code == 415 and "x.jpg: not an image" in r.json()["detail"]
    bomb = png_claiming(10_000, 10_000)  # 100 MP: over the pixel limit, refused undecoded
    r = client.post("/v1/predict", files=[("files", ("big.png", bomb, "image/png"))])
    assert r.status_code == 413 and "10000x10000 pixels" in r.json()["detail"]
    r = client.post("/v1/predict", files=[("files", ("f.bin", b"0" * 2_100_000, "image/png"))])
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    r = client.post("/v1/predict")
    assert r.status_code == 422 and "multipart/form-data" in r.json()["detail"]
    r = client.post("/v1/predict?threshold=../x", files=[("files", ("a.jpg", b"1", "i/j"))])
    assert r.status_code == 422


def test_page_and_docs_are_local(client):
    page = client.get("/").text
    assert "/static/app.js" in page and "http" not in page.split("<body>")[1].split("</body>")[0]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]


def test_group_photo_gives_one_record_per_face(client, tmp_path):
    from .compose import compose
    from .conftest import TEST_CROPS

    picture, _ = compose([TEST_CROPS / "182638.jpg", TEST_CROPS / "182641.jpg"], [0, 20],
                         [1.0, 1.0], canvas=(800, 400))
    buf = io.BytesIO()
    picture.save(buf, "JPEG")
    r = client.post("/v1/predict", files=[("files", ("pair.jpg", buf.getvalue(), "image/jpeg"))])
    faces = r.json()["results"][0]["faces"]
    assert len(faces) == 2 and all(len(f["landmarks"]) == 5 for f in faces)
    blank = io.BytesIO()
    Image.new("RGB", (300, 300), "grey").save(blank, "PNG")
    r = client.post("/v1/predict", files=[("files", ("wall.png", blank.getvalue(), "image/png"))])
    res = r.json()["results"][0]
    assert r.status_code == 200 and res["faces"] == [] and "no face found" in res["error"]


def test_concurrent_requests_share_network_calls():
    from concurrent.futures import ThreadPoolExecutor

    app = create_app(workers=4)
    client = TestClient(app)
    data = EXAMPLE.read_bytes()
    single = client.post("/v1/predict", files=[("files", ("a.jpg", data, "i/j"))]).json()
    calls = app.state.batcher.calls

    def post(_):
        return client.post("/v1/predict", files=[("files", ("a.jpg", data, "i/j"))]).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(32)))
    for a in answers:  # batching changes nothing in the answers
        assert a["results"][0]["faces"][0]["probabilities"] == pytest.approx(
            single["results"][0]["faces"][0]["probabilities"], abs=1e-5)
    assert app.state.batcher.calls - calls < 32


def test_service_reports_small_faces_as_skipped_and_names_its_detector(tmp_path):
    """The service's settings (detector, minimum face) reach its pipeline; a face under the
    minimum comes back with its box and the reason, without attributes, beside a usable one."""
    from .compose import compose
    from .conftest import TEST_CROPS

    app = create_app(min_face=50, detector_score=0.5)
    client = TestClient(app)
    h = client.get("/healthz").json()
    assert h["detector"] == "yunet" and h["min_face"] == 50
    picture, _ = compose([TEST_CROPS / "182638.jpg", TEST_CROPS / "182641.jpg"], [0, 0],
                         [1.0, 0.3], canvas=(800, 400))
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=95)
    r = client.post("/v1/predict", files=[("files", ("pair.jpg", buf.getvalue(), "i/j"))])
    assert r.status_code == 200, r.text
    faces = sorted(r.json()["results"][0]["faces"], key=lambda f: f["box"][0])
    assert ["skipped" not in f for f in faces] == [True, False]
    assert len(faces[0]["probabilities"]) == 40 and "probabilities" not in faces[1]
    assert "under the minimum of 50 px" in faces[1]["skipped"] and faces[1]["score"] > 0.5
