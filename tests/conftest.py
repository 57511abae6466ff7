"""Shared fixtures: an isolated environment, the test operator distributions, and the hooks
that keep the markers honest (support.markers)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import markers
from support.app import InProcessHub
from support.cluster import Cluster, bare_venv, start_cluster
from support.crafted import wheel_files, write_wheel
from support.hub_server import HubServer, start_hub_server
from support.index import Index, pypi_like, serve_index
from support.wheelhouse import TEST_PROJECTS, Wheelhouse

import hub


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Record the test's markers for support.markers.require, and cut a test without
    ``network`` off from everything beyond loopback, fixtures of any scope included."""
    running = frozenset(m.name for m in item.iter_markers())
    saved = {key: os.environ.get(key) for key in markers.NO_NETWORK}
    markers.RUNNING = running
    try:
        if markers.offline(running):
            _set_environ(markers.NO_NETWORK)
        yield
    finally:
        markers.RUNNING = None
        _set_environ(saved)


def _set_environ(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that uses a started Ray, cluster or hub server carries its marker."""
    missing = markers.missing_for_fixtures(getattr(item, "fixturenames", ()),
                                           frozenset(m.name for m in item.iter_markers()))
    if missing:
        raise markers.MarkerMissing(f"{item.nodeid} uses fixtures that need the marker(s) "
                                    f"{', '.join(missing)}")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config, data or cache, nor their HUB_* variables, nor
    their pip configuration files (this machine's lists a partial PyPI mirror as an extra
    index): a test that wants one sets PIP_CONFIG_FILE itself. PIP_* variables stay."""
    for key in list(os.environ):
        if key.startswith("HUB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    home = tmp_path_factory.mktemp("hub-home")
    monkeypatch.setenv("HUB_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("HUB_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("HUB_CACHE_DIR", str(home / "cache"))
    hub.ops.refresh()


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """Every test and first-party operator built once for the run, into one folder."""
    return Wheelhouse.build(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="session")
def wheels(wheelhouse: Wheelhouse) -> Wheelhouse:
    """The wheelhouse under the name the upload tests use: ``wheels["basic"]``."""
    return wheelhouse


@pytest.fixture(scope="session")
def test_ops_site(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test operator distributions, installed from the wheelhouse into one folder."""
    return wheelhouse.install(TEST_PROJECTS, tmp_path_factory.mktemp("test-ops-site"))


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """A local index serving six, toolz and tabulate at fixed versions (support.index):
    what the resolver tests lock from instead of PyPI; and the pinned uv's real wheel, which
    a planned node env names (the node fetches it to build with)."""
    with serve_index(tmp_path_factory.mktemp("package-index")) as index:
        yield pypi_like(index)


@pytest.fixture(scope="session")
def node_tool_index(package_index: Index) -> Index:
    """The local index with the pinned uv's real wheel too, which a planned node env names
    (the node fetches it to build with). The wheel comes from PyPI once per machine
    (support.wheels), so only tests that may reach the network use this: `ray`, `cluster`
    or `network` ones (an offline test would see the dead proxy)."""
    from support.wheels import node_wheels  # imports runtime_env: only when asked for

    package_index.add(next(w for w in node_wheels() if w.name.startswith("uv-")))
    return package_index


@pytest.fixture
def make_wheel(tmp_path: Path) -> Callable[..., Path]:
    """``make_wheel(name, version, **metadata)``: a valid crafted operator wheel."""
    def make(name: str = "opshub-demo", version: str = "1.0", **metadata: str) -> Path:
        return write_wheel(tmp_path, wheel_files(name, version, **metadata))

    return make


@pytest.fixture
def hub_app(tmp_path: Path) -> Iterator[InProcessHub]:
    """The hub app on fresh storage behind Starlette's TestClient (no socket: fastest)."""
    with InProcessHub(tmp_path / "storage") as hub:
        yield hub


@pytest.fixture
def site_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Path]]:
    """A function that puts a folder of installed distributions on sys.path (and on
    PYTHONPATH for subprocesses) for the test, so their operators are discovered."""

    def put(site: Path) -> Path:
        monkeypatch.syspath_prepend(str(site))
        path = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), path])))
        hub.ops.refresh()
        return site

    yield put
    hub.ops.refresh()


@pytest.fixture
def test_ops(test_ops_site: Path, site_on_path: Callable[[Path], Path]) -> Path:
    """The installed test operators, discoverable for this test."""
    return site_on_path(test_ops_site)


# --- a real hub server process --------------------------------------------------------


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[HubServer]:
    """A fresh hub server with empty storage; HUB_URL and HUB_TOKEN point at it."""
    server = start_hub_server(tmp_path / "storage")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_URL", server.url)
        mp.setenv("HUB_TOKEN", server.token)
        yield server
    server.stop()


# --- a local Ray --------------------------------------------------------------------


OBJECT_STORE_BYTES = 1024**3  # capped: five engineers' test runs share this machine's memory


@pytest.fixture(scope="session")
def ray_local(test_ops_site: Path) -> Iterator[Any]:
    """One local Ray (2 CPUs) for the session, in a temp dir that is removed afterwards.

    Its workers see the test operators (PYTHONPATH at start), as a node with them
    installed would. Ray never deletes its session folders, hence the own temp dir;
    the short path keeps Ray's socket paths under the 107-byte limit.
    """
    import ray

    markers.require("ray", "starts a local Ray")
    temp = Path(tempfile.mkdtemp(prefix="opshub-ray-"))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(test_ops_site), old]))
    try:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=str(temp),
                 _node_ip_address="127.0.0.1", log_to_driver=False,
                 object_store_memory=OBJECT_STORE_BYTES)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


# --- the two-node cluster -----------------------------------------------------------


@pytest.fixture(scope="session")
def bare_node_cluster() -> Iterator[Cluster]:
    """A head from .venv plus a node (resource ``bare``) whose venv holds only ray[default].

    One for the whole session (issue #13: each start costs 25-35 s plus teardown). Its
    users are driver processes that leave nothing behind (their actors and objects die
    with them), and node envs are keyed by content. Tests that count what worker starts
    do start their own (tests/runtime_env/test_node_env.py).
    """
    cluster = start_cluster(bare_venv())
    yield cluster
    cluster.stop()
