"""Shipping: an :class:`EnvPlan` becomes a Ray runtime_env dict (the only code here that
touches ``ray._private``: Ray has no public call that uploads ``py_modules`` for a
task-level env, which accepts only URIs).

The node's installer fields come from :func:`node_env` (``_node_env``, issue #10 item 3:
``py_executable`` over a venv built once per node, measured faster than Ray's ``pip`` and
``uv`` fields), so the mechanism is chosen in one place.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

import importlib_metadata

from hub import InvalidOperator, OperatorSpec

from ._node_env import node_env  # the node-env work's choice: py_executable (issue #10 item 3)
from ._plan import EnvPlan

_EXCLUDES = ["__pycache__", "*.pyc"]
_LOG = logging.getLogger("opshub.runtime_env")  # quiet unless the app configures logging


class RuntimeEnvDict(TypedDict, total=False):
    """The runtime_env fields opshub emits (only shapes Ray documents)."""

    py_executable: str
    py_modules: list[str]


def ship(plan: EnvPlan, specs: Sequence[OperatorSpec]) -> RuntimeEnvDict:
    """The runtime_env for ``plan``: installer fields, and ``py_modules`` uploaded to the
    connected cluster (local paths without one, fine for a job-level env)."""
    env = RuntimeEnvDict()
    if plan.requirements:
        assert plan.tool is not None  # Planner.plan finds it for any plan with requirements
        fields = node_env(plan.requirements, install_options=plan.install_options,
                          tool=plan.tool)
        env["py_executable"] = fields["py_executable"]
    modules = [*(opshub_paths() if plan.opshub else []),
               *operator_paths(specs, set(plan.local_distributions))]
    if modules:
        env["py_modules"] = upload_modules(modules)
    return env


def opshub_paths() -> list[Path]:
    """The ``hub`` and ``runtime_env`` package folders of this driver."""
    import hub
    import runtime_env

    return [Path(hub.__file__).parent, Path(runtime_env.__file__).parent]


def operator_paths(specs: Sequence[OperatorSpec], dists: set[str]) -> list[Path]:
    """What ``py_modules`` ships for the installed operators of ``dists`` (each path once)."""
    from packaging.utils import canonicalize_name

    paths = [p for s in specs if s.distribution and canonicalize_name(s.distribution) in dists
             for p in distribution_paths(s.distribution, [s.module])]
    return list(dict.fromkeys(paths))


def distribution_paths(dist: str, modules: Sequence[str] = ()) -> list[Path]:
    """The top-level packages of an installed distribution (and of ``modules``), and its
    metadata folder; ``modules`` covers editable installs, whose files live elsewhere."""
    try:
        distribution = importlib_metadata.distribution(dist)
    except importlib_metadata.PackageNotFoundError:
        raise InvalidOperator(f"distribution {dist!r} is not installed and the hub does not "
                              "serve it; publish it (`hub publish`) or install it") from None
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
