"""Screenshot the web page with a shared test image uploaded (for docs/).

    faceattr serve --port 8765 &  python tools/screenshot.py http://127.0.0.1:8765 IMAGE OUT.png
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    url, image, out = sys.argv[1:4]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(url)
        page.set_input_files("#file", image)
        page.wait_for_selector(".attr")
        page.wait_for_timeout(300)
        page.screenshot(path=out, full_page=True)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
