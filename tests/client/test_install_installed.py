"""`hub install --installer pip` checks the hub names pip leaves out (#11 audit).

pip's report lists only what it installs, so a ``confop 9.0`` from another index,
already in the environment, satisfied ``appop``'s requirement unnoticed: appop ran on
foreign code. Now every hub name the install relies on must be a file of the hub's
(same version and METADATA), or the install is refused with one line. And a marker
(``extra == "full"``) no longer narrows the hub versions a plain install accepts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.app import AppServer, upload
from support.crafted import wheel_files, write_wheel
from uv import find_uv_bin

from hub.cli import main

from .test_install_confusion import two_indexes

pytestmark = pytest.mark.server


def _hub_install(python: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["install", *args, "--python", str(python)])


def _installed(python: Path) -> dict[str, str]:
    out = subprocess.run([find_uv_bin(), "pip", "list", "--python", str(python), "--format",
                          "json"], capture_output=True, text=True, check=True)
    return {row["name"]: row["version"] for row in json.loads(out.stdout)}


def _pip_install_from_the_default_index(python: Path, requirement: str) -> None:
    """As a user who ran plain `pip install` (PIP_INDEX_URL is the other index here)."""
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", requirement], check=True)


@pytest.mark.parametrize("other_version", ["9.0", "1.0"])  # another version; same, other bytes
def test_a_foreign_copy_of_a_hub_name_already_installed_is_refused(
    tmp_path: Path, throwaway_python: Path, other_version: str
) -> None:
    with two_indexes(tmp_path, other_version=other_version):
        _pip_install_from_the_default_index(throwaway_python, f"confop=={other_version}")
        result = _hub_install(throwaway_python, "appop", "--installer", "pip")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert (f"confop {other_version} is installed in {throwaway_python} but is not the hub's "
            "confop") in result.stderr
    assert "refusing (dependency confusion" in result.stderr and "pip uninstall confop" in (
        result.stderr)
    assert "appop" not in _installed(throwaway_python)


@pytest.mark.parametrize("first", ["pip", "uv"])
def test_the_hubs_own_copy_already_installed_is_accepted(
    tmp_path: Path, throwaway_python: Path, first: str
) -> None:
    with two_indexes(tmp_path, other_version="9.0"):
        assert _hub_install(throwaway_python, "confop", "--installer", first).exit_code == 0
        result = _hub_install(throwaway_python, "appop", "--installer", "pip")
    assert result.exit_code == 0, result.stderr
    assert {k: v for k, v in _installed(throwaway_python).items()
            if k in ("appop", "confop")} == {"appop": "1.0", "confop": "1.0"}


def test_a_requirement_of_an_extra_not_asked_for_binds_nothing(
    tmp_path: Path, throwaway_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: ``confop>=2; extra == "full"`` counted, so no hub version of confop fitted
    and a plain `hub install extop` was refused."""
    requires = 'confop\nProvides-Extra: full\nRequires-Dist: confop>=2; extra == "full"'
    with AppServer(tmp_path / "hub") as hub, AppServer(tmp_path / "other") as other:
        for server, files in ((hub, wheel_files("confop", "1.0")),
                              (hub, wheel_files("extop", "1.0", **{"Requires-Dist": requires})),
                              (other, wheel_files("confop", "9.0"))):
            folder = tmp_path / server.storage.name
            folder.mkdir(exist_ok=True)
            assert upload(server.url, server.token, write_wheel(folder, files)).ok
        monkeypatch.setenv("HUB_URL", hub.url)
        monkeypatch.setenv("PIP_INDEX_URL", other.url + "/simple/")
        result = _hub_install(throwaway_python, "extop", "--installer", "pip")
    assert result.exit_code == 0, result.stderr
    assert _installed(throwaway_python)["confop"] == "1.0"
