import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import hub
from hub.cli import main

HUB = str(Path(sys.executable).parent / "hub")


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and hub.__version__ in result.output


@pytest.mark.usefixtures("test_ops")
def test_list_json_shows_broken_next_to_working_operators_as_a_subprocess():
    out = subprocess.run([HUB, "list", "--json"], capture_output=True, check=False, text=True)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout) if r["status"] != "conflict"}
    assert rows["broken-op"]["status"] == "broken"
    assert "opshub_missing_dependency" in rows["broken-op"]["error"]
    assert rows["add-one"] | {} == rows["add-one"]
    assert (rows["add-one"]["status"], rows["add-one"]["kind"]) == ("ok", "function")
    assert rows["running-sum"]["kind"] == "class"


@pytest.mark.usefixtures("test_ops")
def test_list_table_and_filter():
    result = CliRunner().invoke(main, ["list", "add_one"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "KIND", "DISTRIBUTION", "STATUS", "ERROR"]
    assert lines[1].split()[:5] == ["add-one", "1.0.0", "function", "opshub-test-basic", "ok"]


@pytest.mark.usefixtures("test_ops")
def test_user_error_is_one_line_and_exit_code_1():
    out = subprocess.run([HUB, "list", "add-onee"], capture_output=True, check=False, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: operator 'add-onee' is not installed — did you mean 'add-one'? "
        "Run `hub install add-one`."
    ]


def test_usage_error_is_exit_code_2():
    result = CliRunner().invoke(main, ["list", "--no-such-flag"])
    assert result.exit_code == 2
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == 2


@pytest.mark.parametrize("command", [[], ["list"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_help_of_every_registered_command():
    from hub.cli import COMMANDS

    for name in COMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_committed_cli_reference_is_current():
    from hub.cli._reference import render_reference

    committed = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render_reference() + "\n", (
        "docs/cli.md is stale: run `python -m hub.cli._reference > docs/cli.md`"
    )
