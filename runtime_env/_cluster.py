"""What the connected Ray cluster has: its interpreter and installed versions on every node.

The probe runs as a zero-CPU task pinned to each node. Its function is compiled
from source in a throwaway namespace so cloudpickle ships it by value: a bare
node (no opshub installed) can run it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._requirements import installed_version
from ._target import Target

_PROBE_SOURCE = '''
def probe(names, modules):
    import importlib.metadata as metadata, importlib.util as util
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except Exception:
            versions[name] = None
    return versions, {m: util.find_spec(m) is not None for m in modules}
'''
_INTERPRETER_SOURCE = '''
def interpreter():
    import platform, sys
    return platform.python_version(), sys.platform, platform.machine()
'''
_UNSATISFIED_SOURCE = '''
def unsatisfied(requirements):
    import importlib.metadata as metadata
    try:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name
    except ImportError:
        return list(requirements)
    missing, seen, todo = [], set(), list(requirements)
    while todo:
        req = Requirement(todo.pop())
        key = (canonicalize_name(req.name), tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(str(req))
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            missing.append(f"{req} (found {dist.version})")
            continue
        for line in dist.requires or []:
            child = Requirement(line)
            extras = req.extras | {""}
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                child.marker = None
                todo.append(str(child))
    return sorted(missing)
'''
_probed: dict[tuple[Any, ...], Any] = {}


def _compiled(source: str, name: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "opshub_cluster_probe"}
    exec(source, namespace)  # noqa: S102 - our own constant source, see module doc
    return namespace[name]


def cluster_target() -> Target | None:
    """The connected cluster's Python and platform when all nodes agree, else None."""
    import ray

    if not ray.is_initialized():
        return None
    nodes = _alive_nodes()
    key = ("interpreter", tuple(nodes))
    if key not in _probed:
        fn = _compiled(_INTERPRETER_SOURCE, "interpreter")
        _probed[key] = {tuple(r) for r in ray.get([_run_on(n, fn) for n in nodes])}
    found = _probed[key]
    return Target(*next(iter(found))) if len(found) == 1 else None


def node_reports(names: Iterable[str], modules: Iterable[str] = ()
                 ) -> list[tuple[dict[str, str | None], dict[str, bool]]]:
    """Per alive node: installed versions of ``names`` and importability of ``modules``.

    Without a connected Ray, the driver's own environment stands for the cluster
    (a local Ray started later runs from it). Results are kept per node set.
    """
    import ray

    names, modules = sorted(set(names)), sorted(set(modules))
    if not ray.is_initialized():
        return [_local_report(names, modules)]
    nodes = _alive_nodes()
    key = (tuple(nodes), tuple(names), tuple(modules))
    if key not in _probed:
        probe = _compiled(_PROBE_SOURCE, "probe")
        _probed[key] = ray.get([_run_on(node, probe, names, modules) for node in nodes])
    reports: list[tuple[dict[str, str | None], dict[str, bool]]] = _probed[key]
    return reports


def unsatisfied(requirements: Iterable[str]) -> list[str]:
    """The requirements (walked recursively, with each node's own metadata) that some
    node does not satisfy; the driver stands for the cluster without a connected Ray."""
    import ray

    requirements = sorted(set(requirements))
    fn = _compiled(_UNSATISFIED_SOURCE, "unsatisfied")
    if not ray.is_initialized():
        return list(fn(requirements))
    nodes = _alive_nodes()
    key = ("unsatisfied", tuple(nodes), tuple(requirements))
    if key not in _probed:
        found = ray.get([_run_on(node, fn, requirements) for node in nodes])
        _probed[key] = sorted({line for lines in found for line in lines})
    result: list[str] = _probed[key]
    return result


def _alive_nodes() -> list[str]:
    import ray

    alive = ray.nodes()  # type: ignore[no-untyped-call]
    return sorted(n["NodeID"] for n in alive if n.get("Alive"))


@dataclass(frozen=True)
class Survey:
    """What every alive node reported: package versions and importable modules."""

    reports: list[tuple[dict[str, str | None], dict[str, bool]]]

    def missing(self, pins: Mapping[str, str]) -> dict[str, str]:
        """The pins that some node does not have at exactly that version."""
        return {n: v for n, v in pins.items()
                if any(versions.get(n) != v for versions, _ in self.reports)}

    def has_modules(self) -> bool:
        """Whether every node imports every surveyed module."""
        return all(all(found.values()) for _, found in self.reports)


def survey(pins: Iterable[str], modules: Iterable[str] = ()) -> Survey:
    """Ask every alive node (or the driver, without Ray) about ``pins`` and ``modules``."""
    return Survey(node_reports(pins, modules))


def _run_on(node_id: str, fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` as a zero-CPU task on exactly that node."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(num_cpus=0, max_retries=0)(fn)
    strategy = NodeAffinitySchedulingStrategy(node_id, soft=False)
    return remote.options(scheduling_strategy=strategy).remote(*args)


def _local_report(names: list[str], modules: list[str]
                  ) -> tuple[dict[str, str | None], dict[str, bool]]:
    import importlib.util

    found = {m: importlib.util.find_spec(m) is not None for m in modules}
    return {n: installed_version(n) for n in names}, found
