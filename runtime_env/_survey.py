"""The probe: what each node of the connected cluster is (one survey per node set).

A survey asks every alive node, in one zero-CPU task pinned to it, for its Python,
platform, CUDA driver version and every installed distribution with its requirements;
all later questions (which nodes can run a stage, what they already have, whether
they satisfy an operator) are answered from it on the driver, without Ray.

The probe's function is compiled from source in a throwaway namespace so cloudpickle
ships it by value: a bare node (no opshub installed) runs it. Surveys are cached on
disk by the set of alive node IDs (a node ID is new at every node start, so a node
restarted with other packages is surveyed again), so each driver process and each stage
of a pipeline pays for one survey at most. A node whose packages change while it runs
keeps its ID: nothing cheaper than the probe itself can see that, so a survey is trusted
for ``MAX_AGE_S`` only (`hub cache prune` drops it at once).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from hub import ConfigError, PipelineError
from hub.config import load_settings

from ._requirements import BASE_ROOT, Lookup, closure, driver_lookup, unsatisfied
from ._target import CPU, Target, parse_accelerator

PROBE_VERSION = 2  # part of the cache key: bump when the probe reports more (2: offline)
PROBE_TIMEOUT_S = 120.0
MAX_AGE_S = 3600.0  # a node changed in place is seen within the hour (see the module doc)
_PROBE_SOURCE = '''
def probe():
    import ctypes, importlib.metadata as metadata, os, platform, re, sys
    def cuda():
        for name in ("libcuda.so.1", "libcuda.dylib", "nvcuda.dll"):
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            version = ctypes.c_int()
            if lib.cuInit(0) == 0 and lib.cuDriverGetVersion(ctypes.byref(version)) == 0:
                return f"{version.value // 1000}.{version.value % 1000 // 10}"
        return None
    packages = {}
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
        if name and name not in packages:  # the first on sys.path wins, as imports do
            packages[name] = [dist.version, list(dist.requires or [])]
    offline = os.environ.get("HUB_OFFLINE", "").strip().lower() not in ("", "0", "false",
                                                                        "no", "off")
    return {"python": platform.python_version(), "platform": sys.platform,
            "machine": platform.machine(), "cuda": cuda(), "packages": packages,
            "offline": offline}
'''


@dataclass(frozen=True)
class NodeReport:
    """One node: its resources, interpreter, CUDA driver and installed distributions."""

    node_id: str
    resources: Mapping[str, float]
    python: str
    platform: str = "linux"
    machine: str = "x86_64"
    cuda: str | None = None  # the newest CUDA the node's driver runs, e.g. "12.4"
    packages: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    offline: bool = False  # the node was started with HUB_OFFLINE: it reaches the hub only

    @property
    def accelerator(self) -> str:
        return parse_accelerator(self.cuda) if self.cuda else CPU

    def lookup(self, name: str) -> tuple[str, list[str]] | None:
        """The node's version and requirements of a distribution, or None."""
        found = self.packages.get(canonicalize_name(name))
        return (found[0], list(found[1])) if found else None

    def can_run(self, demands: Mapping[str, float]) -> bool:
        """Whether the node offers every resource a stage asks for."""
        return all(self.resources.get(k, 0.0) >= v for k, v in demands.items() if v)

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "resources": dict(self.resources),
                "python": self.python, "platform": self.platform, "machine": self.machine,
                "cuda": self.cuda, "offline": self.offline,
                "packages": {n: [v, list(r)] for n, (v, r) in self.packages.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeReport:
        packages = {str(n): (str(v), tuple(map(str, r))) for n, (v, r) in
                    dict(data["packages"]).items()}
        return cls(str(data["node_id"]), {str(k): float(v) for k, v in
                                          dict(data["resources"]).items()},
                   str(data["python"]), str(data["platform"]), str(data["machine"]),
                   data.get("cuda"), packages, bool(data.get("offline", False)))


@dataclass(frozen=True)
class Survey:
    """What the nodes of a cluster (or the target assumed without one) have.

    >>> survey = Survey.assumed(Target.current())   # no cluster: a bare node like this one
    >>> survey.target().accelerator
    'cpu'
    """

    nodes: tuple[NodeReport, ...]
    connected: bool = True

    @classmethod
    def assumed(cls, target: Target) -> Survey:
        """A bare node like this driver: ``ray[default]`` at the driver's versions only."""
        base = closure(BASE_ROOT, driver_lookup, target)
        packages = {n: (v, tuple((driver_lookup(n) or ("", []))[1])) for n, v in base.items()}
        cuda = None if target.cuda is None else "{}.{}".format(*target.cuda)
        node = NodeReport("assumed", {"CPU": 1.0}, target.python_version, target.platform,
                          target.machine, cuda, packages)
        return cls((node,), connected=False)

    def eligible(self, demands: Mapping[str, float]) -> Survey:
        """The nodes that can run a stage asking for ``demands`` (all, if none can yet:
        an autoscaler may add them)."""
        fit = tuple(n for n in self.nodes if n.can_run(demands))
        return Survey(fit or self.nodes, self.connected)

    def target(self) -> Target:
        """The nodes' common Python and platform; the accelerator every one can use."""
        kinds = {(n.python.rsplit(".", 1)[0], n.platform, n.machine) for n in self.nodes}
        if len(kinds) != 1:
            raise ConfigError(
                f"the nodes that can run this stage differ in Python or platform "
                f"({', '.join(sorted('/'.join(k) for k in kinds))}); one env cannot serve "
                "them all — give the stage resources= that select one kind of node")
        first = self.nodes[0]
        cudas = [n.accelerator for n in self.nodes]
        accelerator = CPU if CPU in cudas else min(cudas, key=lambda a: parse_cuda(a))
        return Target(first.python, first.platform, first.machine, accelerator)

    @property
    def offline(self) -> bool:
        """Whether some node can reach no index but the hub (started with HUB_OFFLINE=1):
        then its env must come from the hub's mirror, whatever the driver can reach."""
        return any(n.offline for n in self.nodes)

    def common(self) -> dict[str, str]:
        """The distributions every node has, at the same version."""
        shared = set.intersection(*(set(n.packages) for n in self.nodes))
        found = {name: {n.packages[name][0] for n in self.nodes} for name in shared}
        return {name: next(iter(v)) for name, v in sorted(found.items()) if len(v) == 1}

    def base(self, target: Target) -> dict[str, str]:
        """``ray[default]`` and its closure, at the version every node has it."""
        common = self.common()
        return {n: v for n, v in closure(BASE_ROOT, self.nodes[0].lookup, target).items()
                if common.get(n) == v}

    def unsatisfied(self, requirements: Sequence[str], target: Target) -> list[str]:
        """The requirements (walked through each node's metadata) some node lacks."""
        lookups: list[Lookup] = [n.lookup for n in self.nodes]
        return sorted({line for lookup in lookups
                       for line in unsatisfied(requirements, lookup, target)})

    def missing(self, pins: Mapping[str, str]) -> dict[str, str]:
        """The pins that some node does not have at exactly that version."""
        return {name: version for name, version in pins.items()
                if any((n.lookup(name) or ("",))[0] != version for n in self.nodes)}

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [n.to_dict() for n in self.nodes], "connected": self.connected}


def parse_cuda(accelerator: str) -> tuple[int, int]:
    from ._target import cuda_version

    return cuda_version(accelerator) or (0, 0)


class SurveyCache:
    """Surveys on disk under ``<cache_dir>/surveys``, one file per set of alive nodes,
    each trusted for ``max_age`` seconds."""

    def __init__(self, root: Path, max_age: float = MAX_AGE_S) -> None:
        self.root = Path(root)
        self.max_age = max_age

    @classmethod
    def default(cls) -> SurveyCache:
        return cls(load_settings().cache_dir / "surveys")

    def get_or_probe(self, ray: Any) -> Survey:
        """The connected cluster's survey: from disk, or probed (one task per node)."""
        nodes = alive_nodes(ray)
        path = self.root / f"{_key(nodes)}.json"
        try:
            data = json.loads(path.read_text())
            if time.time() - float(data["created"]) < self.max_age:
                return Survey(tuple(NodeReport.from_dict(n) for n in data["nodes"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a miss, or a damaged entry: probe again and replace it
        survey = probe(ray, nodes)
        self._write(path, survey)
        return survey

    def prune(self, older_than: float | None = None) -> int:
        """Delete surveys older than ``older_than`` seconds (all when None); the count."""
        removed = 0
        for path in self.root.glob("*.json"):
            try:
                age = time.time() - path.stat().st_mtime
            except OSError:
                continue
            if older_than is None or age > older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _write(self, path: Path, survey: Survey) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({**survey.to_dict(), "created": time.time()}, f)
        os.replace(tmp, path)  # atomic: a concurrent reader sees all or nothing


def alive_nodes(ray: Any) -> dict[str, dict[str, float]]:
    """Alive node ID -> its total resources."""
    return {n["NodeID"]: {k: float(v) for k, v in n.get("Resources", {}).items()}
            for n in ray.nodes() if n.get("Alive")}


def probe(ray: Any, nodes: Mapping[str, Mapping[str, float]]) -> Survey:
    """Ask every node about itself (a zero-CPU task pinned to each)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    fn = _compiled(_PROBE_SOURCE, "probe")
    remote = ray.remote(num_cpus=0, max_retries=0)(fn)
    refs = {node: remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        node, soft=False)).remote() for node in sorted(nodes)}
    try:
        found = dict(zip(refs, ray.get(list(refs.values()), timeout=PROBE_TIMEOUT_S)))
    except ray.exceptions.GetTimeoutError:
        raise PipelineError(
            f"the cluster's nodes did not answer opshub's survey within {PROBE_TIMEOUT_S:g} s "
            "(a node that cannot start a worker?); check `ray status`") from None
    return Survey(tuple(NodeReport.from_dict({"node_id": node, "resources": nodes[node],
                                              **found[node]}) for node in sorted(nodes)))


def probe_interpreter(python: str) -> NodeReport | None:
    """What the nodes' probe reports of a local interpreter (`hub install --python`'s:
    its Python, platform and this machine's CUDA driver), or None when it cannot run."""
    code = f"{_PROBE_SOURCE}\nimport json\nprint(json.dumps(probe()))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    try:
        return NodeReport.from_dict({"node_id": "local", "resources": {},
                                     **json.loads(done.stdout)})
    except (ValueError, TypeError, KeyError):
        return None


def _key(nodes: Mapping[str, Mapping[str, float]]) -> str:
    data = json.dumps([PROBE_VERSION, sorted(nodes)], separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _compiled(source: str, name: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "opshub_cluster_probe"}
    exec(source, namespace)  # noqa: S102 - our own constant source, see module doc
    return namespace[name]
