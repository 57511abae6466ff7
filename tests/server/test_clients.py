"""pip, uv and twine against a real `hub serve` process, with nothing but our index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support.app import upload
from uv import find_uv_bin

pytestmark = [pytest.mark.server, pytest.mark.slow]
TEST_WHEELS = ("basic", "broken", "heavy")


def _clean_env() -> dict[str, str]:
    """No PIP_*/UV_* settings: the machine's extra indexes and find-links must not help."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return env | {"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=_clean_env(), timeout=300,
                          check=False)


def pip_install(index_url: str, target: Path, *requirements: str) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "pip", "install", "--isolated", "--no-deps", "--no-cache-dir",
                "--disable-pip-version-check", "--index-url", index_url,
                "--target", str(target), *requirements)


def uv_install(index_url: str, target: Path, *requirements: str) -> subprocess.CompletedProcess[str]:
    return _run(find_uv_bin(), "pip", "install", "--no-deps", "--no-cache", "--index-url",
                index_url, "--python", sys.executable, "--target", str(target), *requirements)


def _installed(target: Path) -> list[str]:
    return sorted(p.name for p in target.glob("*.dist-info"))


def twine(url: str, token: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "twine", "upload", "--disable-progress-bar",
                "--non-interactive", "--repository-url", url + "/legacy/", "-u", "__token__",
                "-p", token, *map(str, paths))


def test_twine_upload_then_pip_and_uv_install(hub_server, wheels, tmp_path: Path) -> None:
    out = twine(hub_server.url, hub_server.token, *(wheels[n] for n in TEST_WHEELS))
    assert out.returncode == 0, out.stdout + out.stderr
    again = twine(hub_server.url, hub_server.token, wheels["basic"])  # identical: accepted
    assert again.returncode == 0, again.stdout + again.stderr

    by_pip = pip_install(hub_server.index_url, tmp_path / "pip", "Opshub_Test_Basic")
    assert by_pip.returncode == 0, by_pip.stderr
    assert _installed(tmp_path / "pip") == ["opshub_test_basic-1.0.0.dist-info"]
    by_uv = uv_install(hub_server.index_url, tmp_path / "uv", "opshub-test-heavy==0.3.0")
    assert by_uv.returncode == 0, by_uv.stderr
    assert _installed(tmp_path / "uv") == ["opshub_test_heavy-0.3.0.dist-info"]
    assert (tmp_path / "uv/opshub_test_heavy/plugin.py").exists()


def test_unknown_name_fails_to_install_and_is_never_redirected(hub_server, tmp_path) -> None:
    out = pip_install(hub_server.index_url, tmp_path / "t", "requests")  # exists on PyPI
    assert out.returncode != 0 and "No matching distribution found for requests" in out.stderr


def test_twine_sees_a_conflict_as_already_existing(hub_server, make_wheel) -> None:
    from twine.commands.upload import skip_upload
    from twine.package import PackageFile

    wheel = make_wheel()
    assert twine(hub_server.url, hub_server.token, wheel).returncode == 0
    make_wheel(Summary="changed")  # same filename, new bytes
    out = twine(hub_server.url, hub_server.token, wheel)
    assert out.returncode != 0 and "409" in out.stdout + out.stderr
    # `twine upload --skip-existing` is refused for non-PyPI URLs by twine 7; its rule still
    # treats our answer as "already there", for older twines and other clients.
    response = upload(hub_server.url, hub_server.token, wheel)
    assert response.status_code == 409
    assert skip_upload(response, True, PackageFile.from_filename(str(wheel), None))


def test_uv_publish(hub_server, make_wheel) -> None:
    wheel = make_wheel(version="3.1")
    for _ in range(2):  # the second, identical upload is a no-op 200
        out = _run(find_uv_bin(), "publish", "--publish-url", hub_server.url + "/legacy/",
                   "-u", "__token__", "-p", hub_server.token, str(wheel))
        assert out.returncode == 0, out.stderr
    files = requests.get(hub_server.url + "/api/projects/opshub-demo", timeout=10).json()
    assert [v["version"] for v in files["versions"]] == ["3.1"]


def test_yank_hides_a_version_from_unpinned_installs(hub_server, make_wheel, tmp_path) -> None:
    for version in ("1.0", "2.0"):
        assert upload(hub_server.url, hub_server.token, make_wheel(version=version)).ok
    yank = requests.post(hub_server.url + "/api/projects/opshub-demo/2.0/yank", timeout=10,
                         json={"reason": "broken"}, auth=("__token__", hub_server.token))
    assert yank.ok
    cases = [(pip_install, "pip", "opshub-demo", "1.0"), (uv_install, "uv", "opshub-demo", "1.0"),
             (uv_install, "uv-pinned", "opshub-demo==2.0", "2.0")]
    for install, folder, requirement, version in cases:
        out = install(hub_server.index_url, tmp_path / folder, requirement)
        assert out.returncode == 0, out.stderr
        assert _installed(tmp_path / folder) == [f"opshub_demo-{version}.dist-info"], folder
