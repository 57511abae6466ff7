"""`hub install` never takes a hub name from another index, and refuses contradicting pins.

The attack of #11: a second index serves a higher version of a hub project. Before,
`hub install --installer pip` installed the other index's confop 9.0 over the hub's
1.0, directly and as a dependency.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.app import AppServer, upload
from support.crafted import wheel_files, write_wheel
from support.index import serve_index
from uv import find_uv_bin

from hub.cli import main

pytestmark = pytest.mark.server


@contextlib.contextmanager
def two_indexes(tmp_path: Path, other_version: str) -> Iterator[None]:
    """The hub (confop 1.0, appop 1.0 needing confop) and another index serving confop
    ``other_version`` with other bytes, as pip's default index; HUB_URL is the hub."""
    with AppServer(tmp_path / "hub") as hub, AppServer(tmp_path / "other") as other:
        for server, files in ((hub, wheel_files("confop", "1.0")),
                              (hub, wheel_files("appop", "1.0", **{"Requires-Dist": "confop"})),
                              (other, wheel_files("confop", other_version, Summary="Evil."))):
            folder = tmp_path / server.storage.name
            folder.mkdir(exist_ok=True)
            assert upload(server.url, server.token, write_wheel(folder, files)).ok
        with pytest.MonkeyPatch.context() as env:
            env.setenv("HUB_URL", hub.url)
            env.setenv("PIP_INDEX_URL", other.url + "/simple/")
            yield


def _install(python: Path, target: str) -> Result:
    return CliRunner().invoke(main, ["install", target, "--installer", "pip",
                                     "--python", str(python)])


def _installed(python: Path) -> dict[str, str]:
    out = subprocess.run([find_uv_bin(), "pip", "list", "--python", str(python), "--format",
                          "json"], capture_output=True, text=True, check=True)
    return {row["name"]: row["version"] for row in json.loads(out.stdout)}


@pytest.mark.parametrize("target", ["confop", "appop"])  # directly, and as a dependency
def test_pip_takes_the_hubs_version_of_a_hub_name(tmp_path: Path, throwaway_python: Path,
                                                  target: str) -> None:
    with two_indexes(tmp_path, other_version="9.0"):
        result = _install(throwaway_python, target)
    assert result.exit_code == 0, result.stderr
    assert _installed(throwaway_python)["confop"] == "1.0"


def test_pip_refuses_a_hub_name_served_elsewhere_at_the_same_version(
    tmp_path: Path, throwaway_python: Path
) -> None:
    with two_indexes(tmp_path, other_version="1.0"):
        result = _install(throwaway_python, "appop")
    assert result.exit_code == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "refusing (dependency confusion" in result.stderr
    assert "confop" not in _installed(throwaway_python)


def test_contradicting_pins_are_one_line_naming_both(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with AppServer(tmp_path / "hub") as hub:
        for files in (wheel_files("libop", "1.0"), wheel_files("libop", "2.0"),
                      wheel_files("aop", "1.0", **{"Requires-Dist": "libop==1.0"}),
                      wheel_files("bop", "1.0", **{"Requires-Dist": "libop>=2"})):
            assert upload(hub.url, hub.token, write_wheel(tmp_path, files)).ok
        monkeypatch.setenv("HUB_URL", hub.url)
        result = CliRunner().invoke(main, ["install", "aop", "bop", "--python", "/nonexistent"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert ("operator 'aop' pins libop==1.0 but operator 'bop' pins libop>=2; they cannot "
            "share one env") in result.stderr
    assert "separate pipeline stages" in result.stderr


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_install_takes_third_party_packages_from_the_configured_sources_only(
        tmp_path: Path, throwaway_python: Path, monkeypatch: pytest.MonkeyPatch,
        installer: str) -> None:
    """The sources every lock uses (here pip's PIP_INDEX_URL), given to an installer whose
    own configuration is off: uv's variables and uv.toml naming an index with a newer
    `plain` change nothing."""
    with AppServer(tmp_path / "hub") as hub, serve_index(tmp_path / "main") as pypi, \
            serve_index(tmp_path / "other") as other:
        assert upload(hub.url, hub.token, write_wheel(tmp_path, wheel_files(
            "appop", "1.0", **{"Requires-Dist": "plain"}))).ok
        pypi.wheel("plain", "1.0")
        other.wheel("plain", "2.0")
        for name in ("UV_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
            monkeypatch.setenv(name, other.simple)
        (tmp_path / "uv.toml").write_text(f'extra-index-url = ["{other.simple}"]\n')
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("PIP_INDEX_URL", pypi.simple)
        monkeypatch.setenv("HUB_URL", hub.url)
        result = CliRunner().invoke(main, ["install", "appop", "--installer", installer,
                                           "--python", str(throwaway_python)])
    assert result.exit_code == 0, result.stderr
    assert _installed(throwaway_python)["plain"] == "1.0"


@pytest.mark.parametrize("target", ["confop", "appop"])
def test_uv_takes_the_hubs_version_of_a_hub_name(tmp_path: Path, throwaway_python: Path,
                                                 target: str) -> None:
    with two_indexes(tmp_path, other_version="9.0"):
        result = CliRunner().invoke(main, ["install", target, "--installer", "uv",
                                           "--python", str(throwaway_python)])
    assert result.exit_code == 0, result.stderr
    assert _installed(throwaway_python)["confop"] == "1.0"


def test_uv_refuses_a_hub_name_the_hub_has_no_fitting_version_of(
        tmp_path: Path, throwaway_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv falls through to the next index only when the hub has no version that fits:
    the plan is refused before anything is installed."""
    with AppServer(tmp_path / "hub") as hub, AppServer(tmp_path / "other") as other:
        for server, files in ((hub, wheel_files("confop", "1.0")),
                              (hub, wheel_files("needy", "1.0", **{"Requires-Dist": "confop>=2"})),
                              (other, wheel_files("confop", "9.0", Summary="Evil."))):
            folder = tmp_path / server.storage.name
            folder.mkdir(exist_ok=True)
            assert upload(server.url, server.token, write_wheel(folder, files)).ok
        monkeypatch.setenv("HUB_URL", hub.url)
        monkeypatch.setenv("PIP_INDEX_URL", other.url + "/simple/")
        result = CliRunner().invoke(main, ["install", "needy", "--installer", "uv",
                                           "--python", str(throwaway_python)])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert (f"uv would install confop 9.0 from another index, but confop is a project on the "
            f"hub at {hub.url}, which has no version that fits: refusing") in result.stderr
    assert "confop" not in _installed(throwaway_python)
