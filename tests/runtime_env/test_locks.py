"""Locks against real resolvers and local indexes: accelerator builds, kept packages,
sources (pip's configuration in, every tool's own configuration out), operators locked
together, the cooldown, and hub names that never come from another index (offline)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import tomllib
from support.index import Index, build_wheel, serve_index
from support.wheels import node_wheels

import hub
from hub import ConfigError, OperatorSpec, PinConflict, ResolutionError
from hub._operator import HubOrigin
from hub.client import HubClient
from hub.config import Settings, load_settings
from runtime_env import (
    Cooldown,
    LockCache,
    LockRequest,
    PipSources,
    PipToolsResolver,
    Planner,
    Scope,
    Sources,
    Survey,
    Target,
    UvResolver,
)
from runtime_env._locking import lock_request

ROOT = Path(__file__).resolve().parents[2]
TAG = "cp311-cp311-manylinux_2_28_x86_64"
HERE = Target.current()
# pip-compile starts pip for each lock (about 1 s): its runs are `slow`, uv's are not
RESOLVERS = [pytest.param(UvResolver(), id="uv"),
             pytest.param(PipToolsResolver(), id="pip-tools", marks=pytest.mark.slow)]


@pytest.fixture(scope="module")
def torch_index(tmp_path_factory: pytest.TempPathFactory):
    """Fake torch builds: CPU, CUDA 12.1 (with a fake nvidia dependency) and an
    unlabelled 2.14.0 that pulls in CUDA 12.8's runtime, as PyPI's Linux wheels do."""
    with serve_index(tmp_path_factory.mktemp("torch-index")) as index:
        index.wheel("torch", "2.12.0+cpu", tag=TAG)
        index.wheel("torch", "2.13.0+cpu", tag=TAG)
        index.wheel("torch", "2.13.0+cu121", ["nvidia-cublas-cu12==12.1.3.1"], tag=TAG)
        index.wheel("torch", "2.14.0", ["nvidia-cuda-runtime-cu12==12.8.90"], tag=TAG)
        index.wheel("nvidia-cublas-cu12", "12.1.3.1")
        index.wheel("nvidia-cuda-runtime-cu12", "12.8.90")
        yield index


def lock(index: Index, tmp_path: Path, target: Target, resolver=None, **kw):
    request = LockRequest.create(kw.pop("requirements", ["torch>=2.1"]), {}, target,
                                 Sources(index.simple), **kw)
    return lock_request(request, resolver or UvResolver(), LockCache(tmp_path))


def test_cpu_and_cuda_targets_get_different_torch_builds(torch_index, tmp_path) -> None:
    cpu = lock(torch_index, tmp_path, Target("3.11.7", accelerator="cpu"))
    cu121 = lock(torch_index, tmp_path, Target("3.11.7", accelerator="cu121"))
    cu128 = lock(torch_index, tmp_path, Target("3.11.7", accelerator="cu128"))
    assert cpu.as_dict == {"torch": "2.13.0+cpu"}  # no nvidia-* at all
    assert cu121.as_dict == {"torch": "2.13.0+cu121", "nvidia-cublas-cu12": "12.1.3.1"}
    assert cu128.as_dict == {"torch": "2.14.0", "nvidia-cuda-runtime-cu12": "12.8.90"}


def test_pip_tools_gets_the_cpu_build_too(torch_index, tmp_path) -> None:
    found = lock(torch_index, tmp_path, HERE, PipToolsResolver())
    assert found.as_dict == {"torch": "2.13.0+cpu"} and not found.unhashed()


def test_packages_every_target_node_has_are_kept(torch_index, tmp_path) -> None:
    kept = lock(torch_index, tmp_path, Target("3.11.7"), preferences={"torch": "2.12.0+cpu"})
    assert kept.as_dict == {"torch": "2.12.0+cpu"}
    pinned = lock(torch_index, tmp_path, Target("3.11.7"), requirements=["torch>=2.13"],
                  preferences={"torch": "2.12.0+cpu"})  # not accepted: re-resolved
    assert pinned.as_dict == {"torch": "2.13.0+cpu"}


def test_no_build_for_the_target_is_one_clear_error(tmp_path) -> None:
    with serve_index(tmp_path / "idx") as index:
        index.wheel("torch", "2.13.0+cu121", tag=TAG)
        with pytest.raises(ResolutionError, match=r"no build for Python 3.11.7 linux/x86_64, "
                           r"cpu .*torch 2.13.0\+cu121 is a cu121 build.*extra-index-urls"):
            lock(index, tmp_path / "cache", Target("3.11.7"))


@pytest.mark.slow
@pytest.mark.network  # image-embed's other requirements come from PyPI
def test_a_cpu_lock_of_image_embed_here_takes_torch_from_pip_find_links(tmp_path) -> None:
    """This machine: PIP_FIND_LINKS=/opt/wheels holds torch 2.13.0+cpu; PyPI's newer
    torch pulls in CUDA. uv ignores PIP_*; opshub passes it on."""
    folder = os.environ.get("PIP_FIND_LINKS")
    wheel = next(Path(folder or "/nonexistent").glob("torch-2.13.0+cpu-*.whl"), None)
    if wheel is None:
        pytest.skip("this machine keeps no CPU torch wheel in PIP_FIND_LINKS")
    project = tomllib.loads((ROOT / "operators/image-embed/pyproject.toml").read_text())
    sources = Sources.from_settings(load_settings(), PipSources.read(os.environ))
    request = LockRequest.create(project["project"]["dependencies"], {}, HERE, sources)
    found = lock_request(request, UvResolver(), LockCache(tmp_path))
    assert found.as_dict["torch"] == "2.13.0+cpu"
    assert not [n for n in found.as_dict if n.startswith(("nvidia-", "cuda-"))]
    assert found.hash_dict["torch"] == (hashlib.sha256(wheel.read_bytes()).hexdigest(),)


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_pip_variables_and_hub_settings_reach_the_resolver(resolver, tmp_path) -> None:
    folder = tmp_path / "links"
    only_here = build_wheel(folder, "only-in-find-links", "1.0")
    with serve_index(tmp_path / "a") as main, serve_index(tmp_path / "b") as extra:
        main.wheel("plain", "1.0")
        extra.wheel("only-on-extra", "2.0")
        env = {"PIP_INDEX_URL": main.simple, "PIP_FIND_LINKS": str(folder),
               "HUB_EXTRA_INDEX_URLS": extra.simple, "HUB_CONFIG": str(tmp_path / "none")}
        sources = Sources.from_settings(load_settings(env), PipSources.from_variables(env))
        request = LockRequest.create(["plain", "only-on-extra", "only-in-find-links"], {},
                                     HERE, sources)
        found = lock_request(request, resolver, LockCache(tmp_path / "cache"))
    assert found.as_dict == {"plain": "1.0", "only-on-extra": "2.0", "only-in-find-links": "1.0"}
    assert found.hash_dict["only-in-find-links"] == (
        hashlib.sha256(only_here.read_bytes()).hexdigest(),)


@pytest.mark.slow
@pytest.mark.network  # the pinned uv's real wheel, downloaded from PyPI once per machine
def test_a_pip_conf_find_links_folder_reaches_both_resolvers_and_the_node_env(
        test_ops, tmp_path, monkeypatch) -> None:
    """pip.conf (not PIP_FIND_LINKS) names the only folder with tabulate and the pinned uv;
    the index is empty. uv and pip-tools lock from it and the node's installer is told of
    it; the node fetches its uv from it."""
    folder = tmp_path / "conf-links"
    wheel = build_wheel(folder, "tabulate", "0.9.0")
    uv = Path(shutil.copy2(next(w for w in node_wheels() if w.name.startswith("uv-")), folder))
    (tmp_path / "pip.conf").write_text(f"[global]\nfind-links = {folder}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "pip.conf"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-config"))
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    spec = hub.ops.spec("render-row")  # opshub-test-dep: tabulate>=0.9
    base = Survey.assumed(HERE).nodes[0]  # a node with opshub but not the operator
    node = replace(base, packages={**base.packages, "opshub": (hub.__version__, ())})
    scope = Scope(Survey((node,), connected=False), HERE)
    with serve_index(tmp_path / "empty") as empty:
        monkeypatch.setenv("HUB_INDEX_URL", empty.simple)
        plans = [Planner(resolver=param.values[0], ship="py_modules").plan([spec], scope)
                 for param in RESOLVERS]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    for plan in plans:
        assert plan is not None
        assert plan.requirements == (f"tabulate==0.9.0 --hash=sha256:{digest}",)
        assert plan.install_options == ("--index-url", empty.simple, "--find-links",
                                        str(folder))
        assert plan.tool is not None and plan.tool.url == str(uv)  # a path on the nodes too


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_the_tools_own_configuration_never_changes_a_lock(resolver, tmp_path,
                                                          monkeypatch) -> None:
    """Sources come only from the request (its cache key): uv's index variables and
    uv.toml, pip's variables and pip.conf, all naming an index with a newer release,
    are ignored."""
    with serve_index(tmp_path / "main") as main, serve_index(tmp_path / "other") as other:
        main.wheel("plain", "1.0")
        other.wheel("plain", "2.0")
        for name in ("UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
                     "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
            monkeypatch.setenv(name, other.simple)
        (tmp_path / "uv.toml").write_text(f'extra-index-url = ["{other.simple}"]\n')
        (tmp_path / "pip.conf").write_text(f"[global]\nextra-index-url = {other.simple}\n")
        monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "pip.conf"))
        monkeypatch.chdir(tmp_path)  # where uv looks for uv.toml
        found = lock(main, tmp_path / "cache", HERE, resolver, requirements=["plain"])
    assert found.as_dict == {"plain": "1.0"}
    if resolver.name == "uv":
        assert found.origin_dict == {"plain": main.simple}


# --- operators that share an env: one resolution (issue #10 item 1) --------------------


def hub_operator(name: str, *requires: str, hub_url: str) -> OperatorSpec:
    """An operator described by a hub (never installed), requiring ``requires``."""
    origin = HubOrigin(hub_url, name, "1.0", requires)
    return OperatorSpec(name, f"{name.replace('-', '_')}:run", distribution=name,
                        version="1.0", origin=origin)


@pytest.fixture
def numpy_planner(hub_server, tmp_path):  # type: ignore[no-untyped-def]
    """A planner whose only index serves numpy 1.26.4 and 2.1.0, and a bare node."""
    with serve_index(tmp_path / "numpy") as index:
        index.wheel("numpy", "1.26.4")
        index.wheel("numpy", "2.1.0")
        settings = Settings(url=hub_server.url, cache_dir=tmp_path / "cache",
                            hub_configured=True, package_index_url=index.simple)
        planner = Planner(settings=settings, env={"PIP_CONFIG_FILE": os.devnull})
        yield planner, Scope(Survey.assumed(HERE), HERE), hub_server.url


@pytest.mark.server
def test_operators_whose_ranges_meet_get_one_lock(numpy_planner) -> None:
    planner, scope, url = numpy_planner
    any_numpy, old_numpy = (hub_operator("op-a", "numpy", hub_url=url),
                            hub_operator("op-b", "numpy<2", hub_url=url))
    assert planner.lock([any_numpy], scope).as_dict == {"numpy": "2.1.0"}  # alone: newest
    assert planner.lock([any_numpy, old_numpy], scope).as_dict == {"numpy": "1.26.4"}


@pytest.mark.server
def test_operators_whose_ranges_exclude_each_other_are_one_pin_conflict(numpy_planner
                                                                       ) -> None:
    planner, scope, url = numpy_planner
    new, old, other = (hub_operator("op-new", "numpy>=2", hub_url=url),
                       hub_operator("op-old", "numpy<2", hub_url=url),
                       hub_operator("op-any", "numpy", hub_url=url))
    with pytest.raises(PinConflict) as info:
        planner.lock([other, new, old], scope)
    assert info.value.package == "numpy"
    assert str(info.value).startswith("operator 'op-new' pins numpy>=2 but operator 'op-old' "
                                      "pins numpy<2; they cannot share one env — run them")


# --- the lock cooldown (issue #11 item 7) --------------------------------------------


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory: pytest.TempPathFactory):
    """``coolpkg`` 1.0 uploaded 40 days ago, 2.0 an hour ago (PEP 700 upload-time)."""
    now = datetime.now(timezone.utc)
    with serve_index(tmp_path_factory.mktemp("cool")) as index:
        index.wheel("coolpkg", "1.0", uploaded=now - timedelta(days=40))
        index.wheel("coolpkg", "2.0", uploaded=now - timedelta(hours=1))
        yield index


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_the_cooldown_keeps_a_fresh_release_out(fresh_release, resolver, tmp_path) -> None:
    env = {"HUB_LOCK_EXCLUDE_NEWER": "7 days", "HUB_CONFIG": str(tmp_path / "none")}
    cooldown = Cooldown.from_settings(load_settings(env))
    assert lock(fresh_release, tmp_path, HERE, resolver, requirements=["coolpkg"]
                ).as_dict == {"coolpkg": "2.0"}
    cooled = lock(fresh_release, tmp_path, HERE, resolver, requirements=["coolpkg"],
                  cooldown=cooldown)
    assert cooled.as_dict == {"coolpkg": "1.0"}


def test_a_package_spared_from_the_cooldown(fresh_release, tmp_path) -> None:
    spared = lock(fresh_release, tmp_path, HERE, requirements=["coolpkg"],
                  cooldown=Cooldown("7 days", ("coolpkg",)))
    assert spared.as_dict == {"coolpkg": "2.0"}
    with pytest.raises(ConfigError, match="pip-tools cannot spare coolpkg.*--resolver uv"):
        lock(fresh_release, tmp_path, HERE, PipToolsResolver(), requirements=["coolpkg"],
             cooldown=Cooldown("7 days", ("coolpkg",)))


# --- hub names come from the hub only (issue #11 item 4) -------------------------------


@pytest.fixture
def confusion(hub_server, wheelhouse, tmp_path):
    """The hub serves opshub-test-dep 1.0.0; another index serves 9.0 and a package that
    depends on it (the attack), plus tabulate so no public index is needed."""
    subprocess.run([sys.executable, "-m", "hub", "publish", str(wheelhouse["dep"])],
                   check=True, capture_output=True)
    with serve_index(tmp_path / "evil") as evil:
        evil.wheel("opshub-test-dep", "9.0", ["tabulate"])
        evil.wheel("evil-parent", "1.0", ["opshub-test-dep"])
        evil.wheel("tabulate", "0.10.0")
        sources = Sources(evil.simple, (evil.simple,), hub_index=hub_server.index_url)
        yield sources, HubClient(hub_server.url).project_names()


@pytest.mark.server
@pytest.mark.parametrize("wanted", ["opshub-test-dep", "evil-parent"])
def test_uv_takes_a_hub_name_from_the_hub(confusion, wanted, tmp_path) -> None:
    sources, names = confusion
    request = LockRequest.create([wanted], {}, HERE, sources)
    found = lock_request(request, UvResolver(), LockCache(tmp_path), hub_names=names)
    assert found.as_dict["opshub-test-dep"] == "1.0.0"


@pytest.mark.server
@pytest.mark.parametrize("wanted", ["opshub-test-dep", "evil-parent"])
def test_pip_tools_refuses_a_hub_name(confusion, wanted, tmp_path) -> None:
    sources, names = confusion
    request = LockRequest.create([wanted], {}, HERE, sources)
    with pytest.raises(ResolutionError, match="pip-tools cannot lock this: .*opshub-test-dep, "
                       "a project of the hub.*--resolver uv"):
        lock_request(request, PipToolsResolver(), LockCache(tmp_path), hub_names=names)
