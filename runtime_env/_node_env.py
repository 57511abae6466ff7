"""A hash-pinned env for a Ray node that has only ``ray[default]`` (issue #10, item 3).

>>> tool = NodeTool.find(Target("3.11"), Sources())  # doctest: +SKIP
>>> env = node_env(["tabulate==0.9.0 --hash=sha256:..."], install_options=[], tool=tool)
... # doctest: +SKIP
>>> fn.options(runtime_env={**env, "py_modules": [...]}).remote()  # doctest: +SKIP

Why ``py_executable`` (README, design section "Node envs", has the figures;
``benchmarks/bench_node_env.py`` remeasures them): on image-embed's CPU lock it is faster
than Ray's ``pip`` field and its ``uv`` field, with or without a persistent uv cache, on a
cold node, with a warm cache and with the env kept from a past session.

All build once per node; a second driver adds +0.05..+0.5 s (builder) per new worker.
Ray's fields copy the node's whole venv (about 300 MB here) into every env and pip-install
uv into each one (unpinned, unhashed) before the install itself; an env lives only as long as
the cluster session. ``py_executable`` over a venv that ``_node_builder`` builds once per node
(NeMo RL's approach, made lazy) pays only the install. Its pitfalls, each handled there: an
unresolvable or failing ``py_executable`` leaves tasks PENDING forever (ray#59342, measured),
and the raylet kills a worker that has not registered within 60 s, builder included.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from hub import ConfigError

from . import _node_builder
from ._node_tool import NodeTool

# Index options uv and pip both accept, with one value each (or none).
_VALUED = {"--index-url": "--index-url", "-i": "--index-url",
           "--extra-index-url": "--extra-index-url",
           "--find-links": "--find-links", "-f": "--find-links"}
_FLAGS = {"--no-index"}
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# `bash -c "exec <py_executable> <worker args>"` is one argument: Linux caps it at 128 KiB.
MAX_LAUNCHER = 100_000
# Find the node's Python (the raylet's --python_worker_command), then run the builder in it.
_LAUNCHER = r"""
w='s/^.*--python_worker_command=\([^ ]*\).*$/\1/p'
py=$(tr '\0' '\n' < "/proc/$RAY_RAYLET_PID/cmdline" 2>/dev/null | sed -n "$w")
[ -x "$py" ] || py=$(ps -o args= -p "$RAY_RAYLET_PID" 2>/dev/null | sed -n "$w")
[ -x "$py" ] && exec "$py" -c "$0" "$@"
echo "opshub node env: cannot find this node's Python from raylet $RAY_RAYLET_PID" >&2
exit 1
""".strip()


class NodeEnvFields(TypedDict):
    """The runtime_env fields of a node env (merge with ``py_modules``, ``env_vars``...)."""

    py_executable: str


def node_env(requirements: Sequence[str], *, install_options: Sequence[str],
             tool: NodeTool) -> NodeEnvFields:
    """The runtime_env fields giving any node exactly ``requirements``, built once per node.

    ``requirements``: complete hash-pinned lines (``name==version --hash=sha256:...``, or
    ``name @ URL --hash=sha256:...``); ``install_options``: ``--index-url``,
    ``--extra-index-url``, ``--find-links``, ``--no-index``. Installed with hash checking,
    without dependencies, from wheels only; never replaces Ray or what Ray runs on. ``tool``:
    the pinned uv's wheel for the nodes' target (:meth:`NodeTool.find`), which the node
    fetches once to build with.
    """
    lines = sorted({_checked(line) for line in requirements})
    _check_unique(lines)
    spec = {"format": _node_builder.FORMAT, "requirements": lines,
            "install_options": _options(install_options), "tool": tool.spec()}
    launcher = " ".join(["/bin/sh", "-c", shlex.quote(_LAUNCHER),
                         shlex.quote(_node_builder.BOOT), _builder_source(),
                         _node_builder.encode(json.dumps(spec, sort_keys=True).encode())])
    if len(launcher) > MAX_LAUNCHER:
        raise ConfigError(
            f"a node env of {len(lines)} requirements takes {len(launcher)} bytes, over the "
            f"{MAX_LAUNCHER} a worker's command line holds; split the stage's operators")
    return NodeEnvFields(py_executable=launcher)


def requirement_lines(lock_text: str) -> list[str]:
    """The requirement lines of a requirements file (``uv pip compile`` output), each with
    its hashes on the same line; comments and blank lines dropped."""
    joined = re.sub(r"\\\s*\n", " ", lock_text)
    lines = (line.split(" #")[0].strip() for line in joined.splitlines())
    return [" ".join(line.split()) for line in lines if line and not line.startswith("#")]


def _builder_source() -> str:
    return _node_builder.encode(Path(_node_builder.__file__).read_bytes())


def _checked(line: str) -> str:
    """One requirement line, normalized; raises ConfigError unless exact and hashed."""
    line = " ".join(line.replace("\\\n", " ").split())
    head, _, _ = line.partition(" --hash=")
    try:
        req = Requirement(head)
    except InvalidRequirement as exc:
        raise ConfigError(f"requirement {line!r} is not valid ({exc}); pass lock lines") from None
    pinned = req.url or (len(req.specifier) == 1 and next(iter(req.specifier)).operator == "=="
                         and "*" not in str(req.specifier))
    hashes = line[len(head):].split()
    if not pinned or not hashes or not all(_HASH.fullmatch(h) for h in hashes):
        raise ConfigError(
            f"requirement {head!r} must be pinned (`==version` or `@ URL`) and carry "
            "`--hash=sha256:...`; lock it with `uv pip compile --generate-hashes`")
    if canonicalize_name(req.name) == "ray":
        raise ConfigError(
            f"requirement {head!r} would change Ray on the node; a node env keeps the node's "
            "Ray: lock with Ray's closure as constraints and drop ray from the lock")
    return line


def _check_unique(lines: Sequence[str]) -> None:
    names = [canonicalize_name(Requirement(line.partition(" --hash=")[0]).name) for line in lines]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"requirements pin {', '.join(twice)} more than once; pass one lock")


def _options(options: Sequence[str]) -> list[str]:
    """``install_options`` as ``--long value`` pairs; raises ConfigError on any other option."""
    out: list[str] = []
    items = iter(options)
    for item in items:
        name, eq, value = item.partition("=") if item.startswith("--") else (item, "", "")
        if name in _FLAGS and not eq:
            out.append(name)
            continue
        if name not in _VALUED:
            raise ConfigError(
                f"install option {item!r} is not allowed in a node env; use "
                f"{', '.join(sorted({*_VALUED.values(), *_FLAGS}))}")
        value = value if eq else next(items, "")
        if not value or value.startswith("-"):
            raise ConfigError(f"install option {name} needs a value (a URL or a path)")
        out += [_VALUED[name], value]
    return out
