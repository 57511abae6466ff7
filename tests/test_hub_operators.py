"""Operators fetched from a real hub, never installed: specs, notices, the fallback, and
the one clear error where their code is not installed (issue #10 item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from support.hub_server import HubServer, start_hub_server
from support.wheelhouse import Wheelhouse

import hub
from hub import HubError, OperatorNotFound, OperatorNotLocal
from hub._operator import HubOrigin
from hub.pipeline import DataCollection

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def module_hub(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse
               ) -> Iterator[HubServer]:
    """One hub for the module, serving the test operators `dep` and `basic`."""
    server = start_hub_server(tmp_path_factory.mktemp("hub") / "storage")
    env = {**os.environ, "HUB_URL": server.url, "HUB_TOKEN": server.token}
    subprocess.run([sys.executable, "-m", "hub", "publish", str(wheelhouse["dep"]),
                    str(wheelhouse["basic"])], check=True, capture_output=True, env=env)
    yield server
    server.stop()


@pytest.fixture
def hub_server(module_hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    monkeypatch.setenv("HUB_URL", module_hub.url)
    monkeypatch.setenv("HUB_TOKEN", module_hub.token)
    return module_hub


@pytest.fixture
def published(hub_server: HubServer) -> dict:
    return requests.get(hub_server.url + "/api/projects/opshub-test-dep", timeout=10).json()


def test_from_hub_describes_the_operator_without_installing_it(published, hub_server,
                                                               capsys, monkeypatch) -> None:
    for module in ("opshub_test_dep", "opshub_test_dep.impl", "opshub_test_dep.plugin"):
        monkeypatch.delitem(sys.modules, module, raising=False)  # imported by other tests
    op = hub.ops.from_hub("render-row")()
    spec = op.spec
    assert (spec.name, spec.target, spec.kind) == ("render-row", "opshub_test_dep.impl:render_row",
                                                   "function")
    assert (spec.distribution, spec.version) == ("opshub-test-dep", "1.0.0")
    assert spec.origin == HubOrigin(hub_server.url, "opshub-test-dep", "1.0.0",
                                    ("opshub", "tabulate>=0.9"), None)
    assert "opshub_test_dep" not in sys.modules
    notice = capsys.readouterr().err
    assert notice.strip() == (f"opshub: operator 'render-row' is opshub-test-dep 1.0.0 from the "
                              f"hub at {hub_server.url} (not installed here: it runs on Ray "
                              "stages)")
    hub.ops.from_hub("render-row")
    assert capsys.readouterr().err == ""  # once per operator


def test_a_missing_operator_falls_back_to_the_configured_hub(published, monkeypatch) -> None:
    assert hub.ops.render_row().spec == hub.ops["render-row"]().spec
    assert hub.ops.render_row().spec.origin is not None
    monkeypatch.setenv("HUB_FALLBACK", "0")
    hub.ops.refresh()
    with pytest.raises(OperatorNotFound, match="'render-row' is not installed"):
        _ = hub.ops.render_row


def test_no_fallback_without_a_configured_hub(monkeypatch) -> None:
    monkeypatch.delenv("HUB_URL", raising=False)
    with pytest.raises(OperatorNotFound) as info:
        _ = hub.ops.render_row
    assert info.value.hub is None


def test_an_operator_the_hub_lacks_is_not_found_naming_the_hub(published, hub_server) -> None:
    with pytest.raises(OperatorNotFound, match=f"nor found on the hub at {hub_server.url}"):
        _ = hub.ops.render_rows


def test_a_version_the_hub_lacks_is_one_clear_error(published) -> None:
    with pytest.raises(HubError, match="opshub-test-dep has no version matching ==9.9 .*"
                       "available: 1.0.0"):
        hub.ops.from_hub("render-row==9.9")


def test_a_yanked_version_needs_an_exact_pin(hub_server) -> None:
    hub_cli = [sys.executable, "-m", "hub"]
    subprocess.run([*hub_cli, "yank", "opshub-test-basic", "1.0.0", "--reason", "test"],
                   check=True, capture_output=True)
    try:
        with pytest.raises(HubError, match="yanked versions need an exact =="):
            hub.ops.from_hub("add-one")
        assert hub.ops.from_hub("add-one==1.0.0")().spec.version == "1.0.0"
    finally:
        subprocess.run([*hub_cli, "unyank", "opshub-test-basic", "1.0.0"], check=True,
                       capture_output=True)


@pytest.mark.parametrize("backend", ["local", "thread"])
def test_on_the_driver_it_is_one_clear_error_before_any_item(published, hub_server,
                                                             backend) -> None:
    op = hub.ops.from_hub("render-row")()
    with pytest.raises(OperatorNotLocal) as info:
        DataCollection([[1, 2], [3, 4]]).map(op, backend=backend, on_error="collect").to_list()
    assert str(info.value) == (
        f"operator 'render-row' came from the hub at {hub_server.url} (opshub-test-dep 1.0.0) "
        "and is not installed here: it runs only on Ray stages (backend='ray'); to run it "
        "locally, `hub install opshub-test-dep==1.0.0`")
    assert isinstance(info.value, hub.OperatorLoadError)
    with pytest.raises(OperatorNotLocal):
        op([1, 2])


def test_it_runs_locally_where_that_exact_version_is_installed(hub_server, test_ops) -> None:
    op = hub.ops.from_hub("add-one")()
    assert op.spec.origin is not None and op(1) == 2
