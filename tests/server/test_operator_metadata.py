"""One contract, checked twice with the same words: a bad register() call breaks the plugin
when it is loaded and is refused when its wheel is uploaded; a good one reaches the hub's
JSON, its search and `hub info` whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.app import AppServer, InProcessHub, store_state, upload
from support.crafted import wheel_files, write_wheel
from support.plugins import PLUGIN, load_source

from hub._hub_operators import spec_from_entry
from hub._operator import HubOrigin
from hub.cli import main
from hub.metadata import FIELDS, to_json

FIX = "; fix its register() call"
# The register() call's arguments (source) -> the one-line message, wherever it is checked.
BAD_CALLS = {
    "kind": ('"op", "m:f", kind="actor"', "operator 'op': kind='actor' must be 'function' or "
                                          "'class'" + FIX),
    "negative cpus": ('"op", "m:f", num_cpus=-1',
                      "operator 'op': num_cpus=-1 must be a finite number >= 0" + FIX),
    "infinite gpus": ('"op", "m:f", num_gpus=1e999',
                      "operator 'op': num_gpus=inf must be a finite number >= 0" + FIX),
    "boolean cpus": ('"op", "m:f", num_cpus=True',
                     "operator 'op': num_cpus=True must be a finite number >= 0" + FIX),
    "huge cpus": ('"op", "m:f", num_cpus=' + "9" * 400,
                  f"operator 'op': num_cpus={'9' * 57}... must be a finite number >= 0" + FIX),
    "fractional memory": ('"op", "m:f", memory=1.5', "operator 'op': memory=1.5 must be a whole "
                                                     "number of bytes >= 0 and < 2**63, or None"
                                                     + FIX),
    "negative memory": ('"op", "m:f", memory=-1', "operator 'op': memory=-1 must be a whole "
                                                  "number of bytes >= 0 and < 2**63, or None"
                                                  + FIX),
    "huge memory": (f'"op", "m:f", memory={2**63}', f"operator 'op': memory={2**63} must be a "
                    "whole number of bytes >= 0 and < 2**63, or None" + FIX),
    "batch as text": ('"op", "m:f", batch="yes"',
                      "operator 'op': batch='yes' must be True or False" + FIX),
    "description as list": ('"op", "m:f", description=["a"]',
                            "operator 'op': description=['a'] must be a string" + FIX),
    "inputs as numbers": ('"op", "m:f", inputs=[1, 2]', "operator 'op': inputs=[1, 2] must be "
                                                        "a string or a list of strings" + FIX),
    "outputs as a dict": ('"op", "m:f", outputs={"a": "b"}', "operator 'op': outputs={'a': "
                          "'b'} must be a string or a list of strings" + FIX),
    "long tag": (f'"op", "m:f", tags=["{"x" * 33}"]', f"operator 'op': tags=['{'x' * 33}'] "
                 "must be a list of strings of 1 to 32 characters" + FIX),
    "unknown keyword": ('"op", "m:f", colour="red"',
                        f"operator 'op': unknown metadata 'colour'; register() takes {', '.join(FIELDS)}"),
    "name": ('"Bad Name!", "m:f"', "operator name 'Bad Name!' must be lower-case words joined "
                                   "by dashes, e.g. 'image-embed'" + FIX),
    "target": ('"op", "no-colon"', "operator 'op': target 'no-colon' must be an import path "
                                   "'package.module:attribute'" + FIX),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_a_bad_register_call_breaks_its_plugin_when_loaded(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call, message = BAD_CALLS[case]
    result = load_source(PLUGIN % call, tmp_path, monkeypatch)
    assert result.error == f"InvalidOperator: {message}" and result.specs == []


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_the_hub_refuses_its_wheel_with_the_same_line(
    case: str, hub_app: InProcessHub, tmp_path: Path
) -> None:
    call, message = BAD_CALLS[case]
    files = wheel_files()
    files["opshub_demo/plugin.py"] = (PLUGIN % call).encode()
    wheel = write_wheel(tmp_path, files)
    before = store_state(hub_app.storage)
    response = hub_app.upload(wheel)
    assert response.status_code == 400
    assert response.text == f"{wheel.name}: {message}\n"
    assert store_state(hub_app.storage) == before


def test_a_value_computed_at_run_time_is_checked_when_the_plugin_loads(
    hub_app: InProcessHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub reads constants only: it shows the default, the registry refuses the value."""
    source = "CPUS = -1\n" + PLUGIN % '"op", "opshub_demo.impl:run", num_cpus=CPUS'
    files = wheel_files()
    files["opshub_demo/plugin.py"] = source.encode()
    assert hub_app.upload(write_wheel(tmp_path, files)).status_code == 200
    [op] = hub_app.client.get("/api/projects/opshub-demo").json()["versions"][0]["operators"]
    assert op["num_cpus"] == 1.0
    error = load_source(source, tmp_path, monkeypatch).error
    assert error == f"InvalidOperator: {BAD_CALLS['negative cpus'][1]}"


GOOD_CALL = ('"find-cats", "opshub_demo.impl:run", kind="class", batch=True, num_gpus=1, '
             'memory=2048, inputs="image: bytes", outputs=["cats: int"], '
             'description="Counts the felines in a photo.", tags=["vision", "pets"]')


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """A hub on a real socket: `hub info` and `hub search` run as the CLI runs them."""
    with AppServer(tmp_path / "storage") as server:
        yield server


@pytest.mark.server
def test_every_field_reaches_the_hub_s_json_its_search_and_hub_info(
    app_server: AppServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = wheel_files()
    files["opshub_demo/plugin.py"] = (PLUGIN % GOOD_CALL).encode()
    assert upload(app_server.url, app_server.token, write_wheel(tmp_path, files)).ok
    [registered] = load_source(PLUGIN % GOOD_CALL, tmp_path, monkeypatch).specs

    project = CliRunner().invoke(main, ["info", "opshub-demo", "--json"],
                                 env={"HUB_URL": app_server.url})
    [op] = json.loads(project.stdout)["versions"][0]["operators"]
    assert op == {"name": "find-cats", "target": "opshub_demo.impl:run",
                  **to_json(registered.metadata), "entry_point": "opshub-demo"}
    origin = HubOrigin(app_server.url, "opshub-demo", "1.0")
    assert spec_from_entry(op, origin).metadata == registered.metadata  # what ops.from_hub uses
    for word in ("felines", "pets"):
        search = CliRunner().invoke(main, ["search", word], env={"HUB_URL": app_server.url})
        assert "opshub-demo" in search.stdout

    card = CliRunner().invoke(main, ["info", "opshub-demo"], env={"HUB_URL": app_server.url})
    assert ("operator find-cats  (opshub_demo.impl:run)\n"
            "  kind:        class\n"
            "  batch:       yes\n"
            "  description: Counts the felines in a photo.\n"
            "  inputs:      image: bytes\n"
            "  outputs:     cats: int\n"
            "  tags:        vision, pets\n"
            "  resources:   num_cpus=1.0 num_gpus=1 memory=2048\n") in card.stdout
