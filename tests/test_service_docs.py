"""The service's own documentation: /docs and /redoc need no CDN, and the OpenAPI document
declares every answer /v1/predict gives."""

from fastapi.testclient import TestClient

from faceattr.serving.app import create_app


def test_docs_assets_come_from_the_service_and_errors_are_declared():
    with TestClient(create_app()) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assert "cdn." not in html and "/static-offline-docs/" in html
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            r = client.get(f"/static-offline-docs/{asset}")
            assert r.status_code == 200 and len(r.content) > 10_000
        answers = client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"]["responses"]
        assert {"200", "413", "415", "422", "503"} <= set(answers)
        assert "busy" in answers["503"]["description"]


def test_annotate_endpoint_draws_with_faceattr_draw():
    import io

    from PIL import Image

    from .conftest import TEST_CROPS

    crop = sorted(TEST_CROPS.glob("*.jpg"))[0]
    data = crop.read_bytes()
    with TestClient(create_app()) as client:
        r = client.post("/v1/annotate?show=Smiling,age", files={"file": ("a.jpg", data)})
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        drawn = Image.open(io.BytesIO(r.content))
        assert drawn.size == Image.open(crop).size
        assert (abs(__import__("numpy").asarray(drawn, float) -
                    __import__("numpy").asarray(Image.open(crop).convert("RGB"), float))
                .max() > 100)  # something was drawn
        r = client.post("/v1/annotate?show=Smilng", files={"file": ("a.jpg", data)})
        assert r.status_code == 422 and "Smilng" in r.json()["detail"]
        r = client.post("/v1/annotate", files={"file": ("n.jpg", b"not an image")})
        assert r.status_code == 415 and "not an image" in r.json()["detail"]
