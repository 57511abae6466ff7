"""`hub env`, `hub lock`, `hub cache` driven in-process, and `hub env` as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from ray.runtime_env import RuntimeEnv

from hub.cli import main


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_lock_prints_requirements_and_writes_pylock(test_ops, tmp_path: Path) -> None:
    result = invoke("lock", "render-row", "toolz-version-a")
    assert result.exit_code == 0 and result.output == "tabulate==0.10.0\ntoolz==0.12.1\n"
    out = tmp_path / "pylock.toml"
    assert invoke("lock", "render-row", "-o", str(out), "--resolver", "pip-tools").exit_code == 0
    assert 'name = "tabulate"\nversion = "0.10.0"' in out.read_text()


def test_lock_conflict_is_one_clean_error_line(test_ops) -> None:
    result = CliRunner().invoke(main, ["lock", "toolz-version-a", "toolz-version-b"])
    assert result.exit_code == 1
    assert result.output.startswith("error: operator 'toolz-version-a' pins toolz==0.12.1")


def test_lock_for_another_python(test_ops) -> None:
    result = invoke("lock", "render-row", "--python", "3.9", "--platform", "darwin")
    assert result.exit_code == 0 and result.output.startswith("tabulate==")


def test_cache_list_and_prune(test_ops) -> None:
    assert "no cached locks" in invoke("cache", "list").output
    invoke("lock", "render-row")
    rows = json.loads(invoke("cache", "list", "--json").output)
    assert [(r["resolver"], r["pins"], r["requirements"]) for r in rows] == \
        [("uv", 1, "tabulate>=0.9")]
    assert invoke("cache", "prune", "--older-than", "1").output == "removed 0 cached locks\n"
    assert invoke("cache", "prune").output == "removed 1 cached lock\n"


def test_env_json_is_a_valid_job_runtime_env(test_ops, tmp_path: Path) -> None:
    # a real subprocess, without Ray running: local paths, fine for `ray job submit`
    out = subprocess.run([sys.executable, "-m", "hub", "env", "render-row", "--json"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    env = json.loads(out.stdout)
    assert env["pip"]["packages"] == ["tabulate==0.10.0"]
    data = RuntimeEnv(**env).to_dict()
    data.pop("_ray_commit")
    assert data == env


def test_env_unknown_operator(test_ops) -> None:
    result = CliRunner().invoke(main, ["env", "render-rows"])
    assert result.exit_code == 1 and "did you mean 'render-row'" in result.output
