"""The pages' templates and static files ship in opshub's wheel (package data)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from support.wheelhouse import build_project

import hub.server.pages

PAGES = Path(hub.server.pages.__file__).parent
ROOT = PAGES.parents[2]


def test_wheel_carries_every_template_and_static_file(tmp_path: Path) -> None:
    wheel = build_project(ROOT, tmp_path)  # by opshub's own build backend, as `uv build` runs it
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = [p for folder in ("templates", "static") for p in (PAGES / folder).iterdir()]
    assert len(data) >= 8
    assert {str(p.relative_to(ROOT)) for p in data} <= shipped
