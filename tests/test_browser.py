"""End to end in a real headless browser: upload a shared test image, see the bars appear."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import TEST_CROPS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("FACEATTR_REQUIRE_BROWSER") == "1"
if not Path(CHROMIUM).exists() and not REQUIRED:  # CI sets FACEATTR_REQUIRE_BROWSER=1
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api") if not REQUIRED else __import__(
    "playwright.sync_api").sync_api

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "faceattr", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the server did not start")
    yield url
    proc.terminate()
    proc.wait(10)


def test_upload_shows_bars(server, tmp_path):
    image = TEST_CROPS / "182638.jpg"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server)
        page.set_input_files("#file", str(image))
        page.wait_for_selector(".attr", timeout=20_000)
        assert page.locator(".attr[data-attribute]").count() == 40
        info = httpx.get(server + "/v1/attributes").json()
        if info["age"]:  # the age with its range, above the attributes
            assert page.locator("#age-expression .age").inner_text().startswith("Age ")
        if info["expressions"]:  # one bar per expression, the most probable marked
            assert page.locator(".attr.expr").count() == len(info["expressions"])
            assert page.locator(".attr.expr.on").count() == 1
        assert page.locator(".group h2").count() >= 4
        smiling = page.locator('.attr[data-attribute="Smiling"]')
        assert "on" in smiling.get_attribute("class")
        assert "182638.jpg" in page.locator("#status").inner_text()
        # a non-image gets a clear message, not a broken page
        bad = tmp_path / "notes.jpg"
        bad.write_text("not an image")
        page.set_input_files("#file", str(bad))
        page.wait_for_selector("#status.error", timeout=20_000)
        assert "not an image" in page.locator("#status").inner_text()
        browser.close()


def test_camera_mode_draws_faces_live_and_stops(server, tmp_path):
    """Chromium's fake camera plays a clip made from a test crop: the page sends frames to the
    service, draws a face box with attribute labels over the video, and stops cleanly."""
    from .videos import make_y4m

    clip = tmp_path / "camera.y4m"
    make_y4m(clip, TEST_CROPS / "182638.jpg")
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip}"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["camera"], origin=server)
        page = context.new_page()
        page.goto(server)
        page.click("#camera")
        page.wait_for_selector("#live-faces li", timeout=30_000)
        label = page.locator("#live-faces li").first.inner_text()
        assert label.startswith("0: ") and len(label) > 5 and "too small" not in label
        info = httpx.get(server + "/v1/attributes").json()
        if info["age"] and info["expressions"]:  # "0: 31 y, happiness; Smiling, ..."
            head = label[3:].split(";")[0]
            assert head.split(",")[0].endswith(" y") and head.split(", ")[1] in info["expressions"]
        assert int(page.locator("#overlay").get_attribute("data-faces")) >= 1
        # the overlay has a box drawn: some blue pixels
        blue = page.evaluate("""() => {
            const c = document.getElementById('overlay');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 200 && d[i] < 100) n++;
            return n; }""")
        assert blue > 100
        page.click("#stop")
        assert page.evaluate("document.getElementById('video').srcObject === null")
        assert page.locator("#live").is_hidden()
        browser.close()


def test_docs_and_redoc_render_offline(server):
    """/docs and /redoc load their scripts and styles from the service itself: with every
    request to any other host refused, Swagger UI and ReDoc still render the API."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        elsewhere: list[str] = []

        def only_here(route):
            if route.request.url.startswith(server):
                route.continue_()
            else:
                elsewhere.append((route.request.resource_type, route.request.url))
                route.abort()

        page.route("**/*", only_here)
        page.goto(server + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert "faceattr" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector('.opblock-summary-path[data-path="/v1/predict"]', timeout=20_000)
        page.goto(server + "/redoc")
        page.wait_for_selector("h1", timeout=20_000)
        assert "faceattr" in page.locator("h1").first.inner_text()
        # nothing the pages need comes from elsewhere (ReDoc asks for its own logo, an image)
        assert all(kind == "image" for kind, _ in elsewhere), elsewhere
        browser.close()


def test_several_pictures_widest_face_first_and_errors_clear(server, tmp_path):
    """Several files in one go, a tab each; a picture opens on its widest face with
    attributes; a picture that fails clears the old answer; the annotated picture downloads."""
    from PIL import Image

    crops = sorted(TEST_CROPS.glob("*.jpg"))
    group = tmp_path / "group.jpg"  # a small face left, a big face right
    canvas = Image.new("RGB", (700, 400), (120, 130, 140))
    canvas.paste(Image.open(crops[1]).convert("RGB").resize((120, 130)), (20, 130))
    canvas.paste(Image.open(crops[2]).convert("RGB").resize((330, 360)), (340, 20))
    canvas.save(group)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(server)
        page.set_input_files("#file", [str(group), str(crops[0]), str(bad)])
        page.wait_for_selector(".attr", timeout=30_000)
        assert page.locator("#pictures button").count() == 3
        faces = page.locator("#faces button")
        assert faces.count() == 2 and faces.nth(0).inner_text() == "Face 0"
        assert "active" in faces.nth(1).get_attribute("class")  # the widest face first
        with page.expect_download() as got:
            page.click("#download")
        assert got.value.suggested_filename == "group.annotated.jpg"
        page.locator("#pictures button").nth(2).click()  # the broken file
        page.wait_for_selector("#status.error", timeout=10_000)
        assert page.locator(".attr").count() == 0 and page.locator("#canvas").get_attribute(
            "width") == "0"
        page.locator("#pictures button").nth(1).click()
        page.wait_for_selector(".attr", timeout=10_000)
        assert "182638.jpg" in page.locator("#status").inner_text()
        browser.close()


def test_report_sorts_filters_and_links_in_chromium(tmp_path, capsys):
    """``predict --report``: one card per answered face, filtered and sorted in the page, each
    linked to its photo; the page needs nothing but itself."""
    import json as js

    from faceattr.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    crops = sorted(TEST_CROPS.glob("*.jpg"))[:12]
    for c in crops:
        shutil.copy(c, photos / c.name)
    report = tmp_path / "out" / "report.html"
    assert main(["predict", str(photos), "--report", str(report), "--format", "jsonl"]) == 0
    records = [js.loads(line) for line in capsys.readouterr().out.splitlines()]
    answered = [r for r in records if "decisions" in r]
    assert main(["predict", str(photos), "--report", str(report)]) == 2  # never over a file
    assert "--report" in capsys.readouterr().err
    smiling = sum(r["decisions"]["Smiling"] for r in answered)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        elsewhere = []
        page.on("request", lambda r: elsewhere.append(r.url)
                if not r.url.startswith(("file:", "data:")) else None)
        page.goto(report.as_uri())
        assert page.locator(".card").count() == len(answered)
        assert page.locator("#count").inner_text() == str(len(answered))
        page.select_option("#attr", "Smiling")
        assert page.locator(".card").count() == smiling
        page.select_option("#state", "0")
        assert page.locator(".card").count() == len(answered) - smiling
        page.select_option("#attr", "")
        page.select_option("#sort", "age")
        page.select_option("#order", "asc")
        ages = [float(t.split()[1]) for t in page.locator(".card .value").all_inner_texts()]
        assert ages == sorted(ages) and len(ages) == len(answered)
        href = page.locator(".card").first.get_attribute("href")
        assert (report.parent / href).resolve().parent == photos.resolve()
        assert page.locator(".card img").first.evaluate("i => i.naturalWidth") == 112
        assert elsewhere == []
        browser.close()
