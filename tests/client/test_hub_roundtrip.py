"""The client against a real `hub serve` process: publish, search, info, install, uninstall."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.wheelhouse import TEST_OPERATORS, build_project
from uv import find_uv_bin

from hub.client import HubClient

pytestmark = pytest.mark.server

Cli = Callable[..., subprocess.CompletedProcess[str]]


def installed(python: Path) -> dict[str, str]:
    """What uv sees in that environment's own site-packages: {name: version}."""
    out = subprocess.run([find_uv_bin(), "pip", "list", "--python", str(python),
                          "--format", "json"], capture_output=True, text=True, check=True)
    return {row["name"]: row["version"] for row in json.loads(out.stdout)}


def operators(cli: Cli, python: Path) -> dict[str, str]:
    rows = json.loads(cli("list", "--json", python=python).stdout)
    return {row["name"]: row["status"] for row in rows}


@pytest.mark.network  # `hub publish` of a folder builds it: uv fetches hatchling
def test_publish_search_info_install_list_uninstall(
    hub_server: object, hub_cli: Cli, throwaway_python: Path
) -> None:
    out = hub_cli("publish", TEST_OPERATORS / "basic")
    assert "opshub-test-basic" in out.stdout and "published" in out.stdout

    results = json.loads(hub_cli("search", "test", "--json").stdout)
    assert [r["name"] for r in results] == ["opshub-test-basic"]
    assert "add-one" in results[0]["operators"]

    card = hub_cli("info", "opshub-test-basic").stdout
    assert "running-sum" in card and "num_cpus=0.5" in card and "1.0.0" in card

    assert "add-one" not in operators(hub_cli, throwaway_python)
    out = hub_cli("install", "add-one", "--python", throwaway_python)  # an operator name
    assert "added operator add-one (opshub-test-basic 1.0.0)" in out.stdout
    assert installed(throwaway_python)["opshub-test-basic"] == "1.0.0"
    assert operators(hub_cli, throwaway_python)["running-sum"] == "ok"

    out = hub_cli("uninstall", "running-sum", "--python", throwaway_python)
    assert "uninstalled opshub-test-basic" in out.stdout
    assert "opshub-test-basic" not in installed(throwaway_python)
    assert "add-one" not in operators(hub_cli, throwaway_python)


def test_uninstall_a_broken_operator_by_its_name(
    hub_server: object, hub_cli: Cli, throwaway_python: Path, wheels: dict[str, Path]
) -> None:
    hub_cli("publish", wheels["broken"])
    hub_cli("install", "opshub-test-broken", "--python", throwaway_python)
    assert operators(hub_cli, throwaway_python)["broken-op"] == "broken"
    out = hub_cli("uninstall", "broken-op", "--python", throwaway_python)
    assert "removed operator broken-op" in out.stdout
    assert "opshub-test-broken" not in installed(throwaway_python)


def test_unknown_names_get_close_matches(hub_server: object, hub_cli: Cli,
                                         wheels: dict[str, Path],
                                         throwaway_python: Path) -> None:
    hub_cli("publish", wheels["basic"])
    out = hub_cli("install", "opshub-test-basik", "--python", throwaway_python, ok=False)
    assert out.returncode == 1
    assert "did you mean 'opshub-test-basic'" in out.stderr
    out = hub_cli("uninstall", "nothing-here", "--python", throwaway_python, ok=False)
    assert out.returncode == 1 and "no operator distribution or operator 'nothing-here'" in out.stderr


def test_bad_token_names_the_fix(hub_server: object, hub_cli: Cli, wheels: dict[str, Path],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TOKEN", "not-a-token")
    out = hub_cli("publish", wheels["basic"], ok=False)
    assert out.returncode == 1
    assert "HUB_TOKEN" in out.stderr and "hub token create" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_skip_existing_keeps_the_published_file(hub_server: object, hub_cli: Cli,
                                                tmp_path: Path) -> None:
    project = tmp_path / "basic"
    shutil.copytree(TEST_OPERATORS / "basic", project)
    wheel = build_project(project, tmp_path / "first")
    hub_cli("publish", wheel)
    hub_cli("publish", wheel)  # the same bytes again: a no-op
    impl = project / "opshub_test_basic" / "impl.py"
    impl.write_text(impl.read_text() + "\n# changed\n")
    changed = build_project(project, tmp_path / "changed")  # the same filename
    out = hub_cli("publish", changed, ok=False)
    assert out.returncode == 1 and "--skip-existing" in out.stderr
    out = hub_cli("publish", changed, "--skip-existing", "--json")
    assert json.loads(out.stdout)[0]["status"] == "skipped"


def test_yank_and_unyank(hub_server: object, hub_cli: Cli, wheels: dict[str, Path]) -> None:
    hub_cli("publish", wheels["basic"])
    hub_cli("yank", "opshub-test-basic", "1.0.0", "--reason", "wrong sums")
    release = HubClient.from_settings().project("opshub-test-basic")["versions"][0]
    assert (release["yanked"], release["yanked_reason"]) == (True, "wrong sums")
    assert "1.0.0 (yanked: wrong sums)" in hub_cli("info", "opshub-test-basic").stdout
    hub_cli("unyank", "opshub-test-basic", "1.0.0")
    assert not HubClient.from_settings().project("opshub-test-basic")["versions"][0]["yanked"]


def test_pip_installs_from_the_hub_when_asked(
    hub_server: object, hub_cli: Cli, throwaway_python: Path, wheels: dict[str, Path]
) -> None:
    hub_cli("publish", wheels["basic"])
    out = hub_cli("install", "opshub-test-basic==1.0.0", "--installer", "pip",
                  "--python", throwaway_python)
    assert "added operator multiply" in out.stdout
    assert installed(throwaway_python)["opshub-test-basic"] == "1.0.0"


def make_wheel(root: Path, name: str, version: str, dependencies: list[str]) -> Path:
    """A minimal operator distribution, built: one function operator named after it."""
    package = name.replace("-", "_")
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "plugin.py").write_text(
        "import hub\n\n\n@hub.hookimpl\ndef register_operators(register):\n"
        f"    register({name + '-op'!r}, 'builtins:len')\n"
    )
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
        f"dependencies = {json.dumps(dependencies)}\n\n"
        f'[project.entry-points."opshub.operators"]\n{name} = "{package}.plugin"\n'
    )
    return build_project(root, root / "dist")


def test_install_never_replaces_other_packages_unless_allowed(
    hub_server: object, hub_cli: Cli, throwaway_python: Path, tmp_path: Path
) -> None:
    hub_cli("publish", make_wheel(tmp_path / "a", "opshub-test-lib", "1.0.0", []),
            make_wheel(tmp_path / "b", "opshub-test-lib", "2.0.0", []),
            make_wheel(tmp_path / "c", "opshub-test-pin", "1.0.0", ["opshub-test-lib==1.0.0"]))
    hub_cli("install", "opshub-test-lib", "--python", throwaway_python)  # 2.0.0
    out = hub_cli("install", "opshub-test-pin", "--python", throwaway_python, ok=False)
    assert out.returncode == 1
    assert "would replace opshub-test-lib==2.0.0" in out.stderr and "--allow-changes" in out.stderr
    assert installed(throwaway_python)["opshub-test-lib"] == "2.0.0"
    out = hub_cli("install", "opshub-test-pin", "--allow-changes", "--python", throwaway_python)
    assert "added operator opshub-test-pin-op" in out.stdout
    assert installed(throwaway_python)["opshub-test-lib"] == "1.0.0"
