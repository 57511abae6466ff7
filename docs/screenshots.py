"""Regenerate the screenshots in docs/screenshots/: the home and image-embed pages, laptop and
phone widths, from a real `hub serve` with the first-party operators published.

    .venv/bin/python docs/screenshots.py

Uses the page tests' helpers: Debian's Chromium (installed with apt when missing) driven
by Playwright, and a hub in a temp dir that is removed afterwards.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright
from support.browser import FLAGS, ensure_chromium
from support.pages import published_hub

OUT = ROOT / "docs" / "screenshots"
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PAGES = {"home": "/", "project": "/project/image-embed/"}


def main() -> None:
    chromium, _ = ensure_chromium()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hub-shots-"))
    try:
        with published_hub(work, hostile=False) as hub, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
            for size, viewport in SIZES.items():
                context = browser.new_context(viewport=viewport, color_scheme="light",
                                              device_scale_factor=1,
                                              is_mobile=size == "phone")
                page = context.new_page()
                for name, path in PAGES.items():
                    page.goto(hub.url + path)
                    target = OUT / f"{name}-{size}.png"
                    page.screenshot(path=str(target), full_page=name == "home" or size == "laptop")
                    print(target.relative_to(ROOT))
                context.close()
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
