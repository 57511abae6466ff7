"""`hub env`, `hub lock`, `hub cache` driven in-process, and `hub env` as a real subprocess.

Locks come from the session's local index (``package_index``, as PIP_INDEX_URL: tabulate
0.9.0 and 0.10.0, toolz 0.12.1 and 1.0.0), so the pins asserted are the index's, not
whatever PyPI holds today. `hub env` for a bare node also locks what ``import hub``
needs, from PyPI (``network``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ray.runtime_env import RuntimeEnv
from support.envs import node_spec
from support.index import Index, serve_index

from hub.cli import main

ASSUMED = "(assumed: no Ray cluster (pass --address or set RAY_ADDRESS to probe one)"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def local_index(package_index: Index, monkeypatch: pytest.MonkeyPatch) -> Index:
    """The session's local index as pip's (and so the locks') index."""
    monkeypatch.setenv("PIP_INDEX_URL", package_index.simple)
    return package_index


@pytest.mark.slow  # three locks
def test_lock_prints_requirements_and_says_which_target(test_ops, local_index,
                                                         tmp_path: Path) -> None:
    result = invoke("lock", "render-row", "toolz-version-a")
    assert result.exit_code == 0 and result.stdout == "tabulate==0.10.0\ntoolz==0.12.1\n"
    assert result.stderr.startswith("target: Python 3.")  # probed or assumed: the session's Ray
    hashed = invoke("lock", "render-row", "--hashes").stdout
    assert hashed.startswith("tabulate==0.10.0 \\\n    --hash=sha256:")
    out = tmp_path / "pylock.toml"
    assert invoke("lock", "render-row", "-o", str(out), "--resolver", "pip-tools").exit_code == 0
    assert 'name = "tabulate"\nversion = "0.10.0"\nwheels = [{ hashes' in out.read_text()


@pytest.mark.parametrize("command", ["lock", "env"])
def test_conflicting_pins_are_one_clean_error_line_in_every_mode(test_ops, local_index,
                                                                 command) -> None:
    result = CliRunner().invoke(main, [command, "toolz-version-a", "toolz-version-b"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        "error: operator 'toolz-version-a' pins toolz==0.12.1 but operator 'toolz-version-b' "
        "pins toolz==1.0.0")


@pytest.mark.server
@pytest.mark.parametrize("command", ["env", "lock"])
def test_conflicting_operators_fetched_from_the_hub_are_one_pin_conflict(
        hub_server, wheelhouse, tmp_path, monkeypatch, command) -> None:
    """Neither operator is installed: both come from the hub; their pins are locked
    together, against an index that has both toolz releases."""
    subprocess.run([sys.executable, "-m", "hub", "publish", str(wheelhouse["conflict-a"]),
                    str(wheelhouse["conflict-b"])], check=True, capture_output=True)
    with serve_index(tmp_path / "index") as index:
        index.wheel("toolz", "0.12.1")
        index.wheel("toolz", "1.0.0")
        monkeypatch.setenv("HUB_INDEX_URL", index.simple)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        result = CliRunner().invoke(main, [command, "toolz-version-a", "toolz-version-b"])
        alone = CliRunner().invoke(main, ["lock", "toolz-version-a"])
    assert "is opshub-test-conflict-a 1.0.0 from the hub" in result.stderr
    assert result.exit_code == 1 and result.stderr.splitlines()[-1].startswith(
        "error: operator 'toolz-version-a' pins toolz==0.12.1 but operator 'toolz-version-b' "
        "pins toolz==1.0.0; they cannot share one env")
    assert alone.exit_code == 0 and alone.stdout == "toolz==0.12.1\n"


@pytest.mark.slow  # locks for four targets
def test_the_probe_can_be_overridden(test_ops, local_index) -> None:
    result = invoke("lock", "render-row", "--python", "3.9", "--platform", "darwin",
                    "--accelerator", "12.1")
    assert result.exit_code == 0 and result.stdout == "tabulate==0.10.0\n"
    assert result.stderr.startswith("target: Python 3.9 darwin/x86_64, cu121 (assumed: ")
    arm = invoke("lock", "render-row", "--platform", "linux/aarch64")  # as `hub mirror` reads it
    assert arm.exit_code == 0 and arm.stdout.startswith("tabulate==")
    assert arm.stderr.startswith("target: Python 3.11")
    assert " linux/aarch64, cpu (assumed: " in arm.stderr.splitlines()[0]
    two = CliRunner().invoke(main, ["env", "render-row", "--python", "3.11,3.12"])
    assert two.exit_code == 1 and two.stderr == (
        "error: --python, --platform and --accelerator take one value each here (one env is "
        "for one kind of node); `hub mirror` takes lists\n")
    bad = CliRunner().invoke(main, ["lock", "render-row", "--accelerator", "tpu"])
    assert bad.exit_code == 1 and "accelerator 'tpu' must be 'cpu' or a CUDA version" in \
        bad.stderr


def test_cache_list_and_prune(test_ops, local_index) -> None:
    assert "no cached locks" in invoke("cache", "list").output
    invoke("lock", "render-row")
    rows = json.loads(invoke("cache", "list", "--json").output)
    assert [(r["resolver"], r["pins"], r["requirements"]) for r in rows] == \
        [("uv", 1, "tabulate>=0.9")]
    # surveys: one when this process is connected to Ray (the session's, if a Ray test ran
    # first: the lock is then for its probed node), else none
    assert re.fullmatch(r"removed 0 cached locks and 0 surveys\n",
                        invoke("cache", "prune", "--older-than", "1").output)
    assert re.fullmatch(r"removed 1 cached lock and [01] surveys?\n",
                        invoke("cache", "prune").output)


def test_cache_list_survives_a_wrong_shape_entry(test_ops, local_index) -> None:
    invoke("lock", "render-row")
    from runtime_env import LockCache

    (entry,) = LockCache.default().entries()
    entry.path.write_text('{"lock": "[1, 2]", "requirements": 3}')
    result = invoke("cache", "list")
    assert result.exit_code == 0 and "no cached locks" in result.output
    assert invoke("lock", "render-row").stdout == "tabulate==0.10.0\n"  # re-resolved


@pytest.mark.network
def test_env_without_a_cluster_is_for_a_bare_node_like_this_one(test_ops, tmp_path) -> None:
    # a real subprocess, without Ray running: local paths, fine for `ray job submit`
    out = subprocess.run([sys.executable, "-m", "hub", "env", "render-row", "--json"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    env = json.loads(out.stdout)
    assert ASSUMED in out.stderr
    lines = node_spec(env)["requirements"]
    packages = [line.split(" ")[0] for line in lines]
    assert any(p.startswith("tabulate==") for p in packages)  # PyPI's newest: not asserted
    assert any(p.startswith("pluggy==") for p in packages)
    assert not [p for p in packages if p.startswith(("ray==", "torch"))]  # the node has Ray
    assert all("--hash=sha256:" in line for line in lines)
    assert [Path(p).name for p in env["py_modules"]][:2] == ["hub", "runtime_env"]
    data = RuntimeEnv(**env).to_dict()
    data.pop("_ray_commit", None)
    assert data == env


def test_env_unknown_operator(test_ops) -> None:
    result = CliRunner().invoke(main, ["env", "render-rows"])
    assert result.exit_code == 1 and "did you mean 'render-row'" in result.output


@pytest.mark.parametrize("command", ["env", "lock"])
def test_an_address_where_no_cluster_answers_is_one_line(test_ops, command, monkeypatch) -> None:
    from support.net import free_port

    address = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, [command, "render-row", "--address", address])
    assert result.exit_code == 1
    assert result.stderr == (f"error: no Ray cluster answers at {address} — start one with "
                             "`ray start --head`, or fix --address / RAY_ADDRESS\n")
    monkeypatch.setenv("RAY_ADDRESS", address)
    assert CliRunner().invoke(main, [command, "render-row"]).exit_code == 1
