"""The pages' templates and static files ship in opshub's wheel (package data)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from uv import find_uv_bin

import hub.server.pages

PAGES = Path(hub.server.pages.__file__).parent
ROOT = PAGES.parents[2]


def test_wheel_carries_every_template_and_static_file(tmp_path: Path) -> None:
    subprocess.run([find_uv_bin(), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path),
                    str(ROOT)], check=True)
    [wheel] = tmp_path.glob("opshub-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = [p for folder in ("templates", "static") for p in (PAGES / folder).iterdir()]
    assert len(data) >= 8
    assert {str(p.relative_to(ROOT)) for p in data} <= shipped
