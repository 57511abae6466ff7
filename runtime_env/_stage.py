"""The Ray runtime_env of one pipeline stage.

Three layers, each only when the cluster lacks it: the operator's pinned
third-party packages (Ray's ``pip`` field, index options included because Ray
keys its env cache on the field and ignores ``env_vars``), the operator's own
distribution (from the hub index, or its files through ``py_modules``), and the
opshub packages ``hub`` and ``runtime_env`` (``py_modules``). When every node
already has all of it (a local Ray started from the driver's environment), the
answer is None: no env is built at all.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import importlib_metadata

import hub
from hub._config import Settings, load_settings
from hub._exceptions import ConfigError, InvalidOperator
from hub._operator import OperatorSpec

from . import _cluster
from ._lock import Lock
from ._merge import merge
from ._operator_lock import lock_operator
from ._requirements import HUB_RUNTIME, base_constraints, installed_version
from ._resolvers import PYPI, Resolver
from ._target import Target

Ship = Literal["auto", "index", "py_modules"]
SHIP_MODES = ("auto", "index", "py_modules")
OPSHUB_MODULES = ("hub", "runtime_env")
# Ray's defaults, which pip_install_options replaces; --no-deps: the lock is complete.
PIP_OPTIONS = ["--disable-pip-version-check", "--no-cache-dir", "--no-deps"]
_EXCLUDES = ["__pycache__", "*.pyc"]
_LOG = logging.getLogger("opshub.runtime_env")  # quiet unless the app configures logging


def stage_runtime_env(spec: OperatorSpec, *, ship: Ship = "auto", target: Target | None = None,
                      resolver: Resolver | None = None, settings: Settings | None = None,
                      ) -> dict[str, Any] | None:
    """The runtime_env dict for a stage running ``spec``, or None when none is needed."""
    return fused_runtime_env([spec], ship=ship, target=target, resolver=resolver,
                             settings=settings)


def fused_runtime_env(specs: Sequence[OperatorSpec], *, ship: Ship = "auto",
                      target: Target | None = None, resolver: Resolver | None = None,
                      settings: Settings | None = None) -> dict[str, Any] | None:
    """One env for operators fused in one stage; conflicting pins raise PinConflict.

    The target defaults to the connected cluster's interpreter (the driver's without Ray).
    """
    _check_ship(ship)  # before any resolver or Ray work
    settings = settings or load_settings()
    target = target or _cluster.cluster_target() or Target.current()
    if ship == "auto" and cluster_has(specs):
        return None  # every node already runs these operators: no lock, no env
    locks = {s.name: lock_operator(s, target=target, resolver=resolver, settings=settings)
             for s in specs}
    return runtime_env_for(specs, merge(locks), target=target, settings=settings, ship=ship)


def cluster_has(specs: Sequence[OperatorSpec]) -> bool:
    """Whether every node has each operator's distribution at the driver's version, all
    that it requires (at versions its requirements accept), and opshub itself.

    Checked before locking: a fresh lock would pin the newest releases (torch 2.15 with
    CUDA wheels where the node has 2.13 CPU), and Ray would build a venv copy for nothing.
    """
    wanted = [f"{_dist(s)}=={_version(s)}" for s in specs]
    return not _cluster.unsatisfied(wanted) and _cluster.survey([], OPSHUB_MODULES).has_modules()


def runtime_env_for(specs: Sequence[OperatorSpec], lock: Lock, *, target: Target,
                    settings: Settings, ship: Ship = "auto") -> dict[str, Any] | None:
    """The env that gives every node ``lock`` and the operators' own distributions."""
    _check_ship(ship)
    base = base_constraints(target)
    packages = lock.without(base).as_dict
    own = {_dist(s): _version(s) for s in specs}
    cluster = _cluster.survey([*packages, *own], OPSHUB_MODULES)
    ship_hub, own = not cluster.has_modules(), cluster.missing(own)
    if not cluster.missing(packages) and not own and not ship_hub:
        return None  # a local Ray from the driver's env: no env to build at all
    if ship_hub:
        packages.update(_hub_runtime_pins(base))
    by_index = {d: v for d, v in own.items() if _ship_by_index(d, v, settings, ship)}
    shipped = {d for d in own if d not in by_index}
    modules = [*(opshub_paths() if ship_hub else []), *_operator_paths(specs, shipped)]
    return _assemble({**packages, **by_index}, modules, settings, bool(by_index))


def _check_ship(ship: str) -> None:
    if ship not in SHIP_MODES:
        raise ConfigError(f"ship={ship!r} is unknown; use one of {SHIP_MODES}")


def _assemble(packages: dict[str, str], modules: list[Path], settings: Settings,
              use_hub: bool) -> dict[str, Any]:
    env: dict[str, Any] = {}
    if packages:
        index = ["--index-url", PYPI]
        if use_hub:
            index += ["--extra-index-url", settings.worker_index_url]
        env["pip"] = {"packages": [f"{n}=={v}" for n, v in sorted(packages.items())],
                      "pip_check": False, "pip_install_options": [*PIP_OPTIONS, *index]}
    if modules:
        env["py_modules"] = upload_modules(modules)
    return env


def _operator_paths(specs: Sequence[OperatorSpec], dists: set[str]) -> list[Path]:
    """What ``py_modules`` ships for the operators of ``dists`` (each path once)."""
    paths = [p for s in specs if _dist(s) in dists for p in distribution_paths(_dist(s), [s.module])]
    return list(dict.fromkeys(paths))


def _hub_runtime_pins(base: dict[str, str]) -> dict[str, str]:
    """What ``import hub`` needs beyond the base, at the driver's versions."""
    pins: dict[str, str] = {}
    for root in HUB_RUNTIME:
        pins.update(base_constraints(Target.current(), root=root))
    return {n: v for n, v in pins.items() if n not in base}


def _ship_by_index(dist: str, version: str, settings: Settings, ship: Ship) -> bool:
    if ship != "auto":
        return ship == "index"
    return is_published(settings.url, dist, version)


@functools.lru_cache(maxsize=256)
def is_published(hub_url: str, dist: str, version: str) -> bool:
    """Whether the hub serves this (not yanked) version of the distribution."""
    import requests

    try:
        resp = requests.get(f"{hub_url.rstrip('/')}/api/projects/{dist}", timeout=3)
        data = resp.json() if resp.ok else {}
    except (requests.RequestException, ValueError):
        return False
    return any(v.get("version") == version and not v.get("yanked")
               for v in data.get("versions", []))


def opshub_paths() -> list[Path]:
    """The ``hub`` and ``runtime_env`` package folders of this driver."""
    import runtime_env

    return [Path(hub.__file__).parent, Path(runtime_env.__file__).parent]


def distribution_paths(dist: str, modules: Sequence[str] = ()) -> list[Path]:
    """The top-level packages of an installed distribution (and of ``modules``), and its
    metadata folder; ``modules`` covers editable installs, whose files live elsewhere."""
    try:
        distribution = importlib_metadata.distribution(dist)
    except importlib_metadata.PackageNotFoundError:
        raise InvalidOperator(f"distribution {dist!r} is not installed; cannot ship it") from None
    tops = {Path(str(f)).parts[0] for f in distribution.files or []}
    tops = {t for t in tops if t != ".." and not t.endswith((".data", ".pth"))}
    paths = {Path(str(distribution.locate_file(t))) for t in tops}
    paths.update(filter(None, (_module_path(m.split(".")[0]) for m in modules)))
    return sorted(p for p in paths if p.exists())


def _module_path(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # a top-level name: finds without importing
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def upload_modules(paths: list[Path]) -> list[str]:
    """URIs for ``py_modules`` (uploaded to the connected cluster), else local paths.

    Ray accepts local paths only in a job-level env; per task/actor it needs URIs.
    """
    import ray

    if not ray.is_initialized():
        return [str(p) for p in paths]
    from ray._private.runtime_env.py_modules import upload_py_modules_if_needed

    with tempfile.TemporaryDirectory(prefix="opshub-upload-") as scratch:
        env = upload_py_modules_if_needed(
            {"py_modules": [str(p) for p in paths], "excludes": _EXCLUDES},
            include_gitignore=False, scratch_dir=scratch, logger=_LOG)
    return list(env["py_modules"])


def _dist(spec: OperatorSpec) -> str:
    if not spec.distribution:
        raise InvalidOperator(f"operator {spec.name!r} has no distribution; install it first")
    return spec.distribution


def _version(spec: OperatorSpec) -> str:
    version = spec.version or installed_version(_dist(spec))
    if version is None:
        raise InvalidOperator(f"distribution {spec.distribution!r} of operator {spec.name!r} "
                              "is not installed; install it with `hub install`")
    return version
