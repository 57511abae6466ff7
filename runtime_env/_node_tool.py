"""The uv that node envs are built with: pinned with every wheel's sha256 (``_node_tool.txt``),
and fetched by each node once, as the one wheel the driver picked for the node's target.

The driver finds that wheel in the stage's sources as `hub mirror` finds any locked wheel
(:func:`~runtime_env._builds.find_wheel`: the file for the target, best-ranked, whose sha256
the pin holds); offline those sources are the hub's mirror. The node downloads the file,
checks its sha256 as it streams and unpacks the binary (``_node_builder``): it needs no pip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._builds import Fetch, Needed, find_wheel, http_get
from ._lock import Lock, parse_requirements_output
from ._sources import Sources
from ._target import Target

_PINNED = Path(__file__).with_name("_node_tool.txt")


@dataclass(frozen=True)
class NodeTool:
    """The pinned uv's wheel for one target, where the nodes fetch it from.

    >>> tool = NodeTool.find(Target("3.11"), Sources())                  # doctest: +SKIP
    >>> node_env(lock_lines, install_options=[], tool=tool)              # doctest: +SKIP
    """

    filename: str
    url: str  # http(s), file:// or a path on the nodes (a find-links folder)
    hashes: tuple[str, ...]  # the sha256 the node accepts: the file's (all pinned if unknown)

    @classmethod
    def find(cls, target: Target, sources: Sources, fetch: Fetch = http_get) -> NodeTool:
        """The wheel ``sources`` offer for ``target``; MirrorError when none fits it."""
        needed = tool_needed(target)
        found = find_wheel(needed, sources, fetch)
        # a page without hashes (a find-links page) states none: any file of the pin will do
        hashes = (found.sha256,) if found.sha256 else tuple(sorted(needed.hashes))
        return cls(found.filename, found.url, hashes)

    def spec(self) -> dict[str, object]:
        """The tool as a node env's spec carries it (JSON)."""
        return {"filename": self.filename, "url": self.url, "hashes": list(self.hashes)}


def tool_lock() -> Lock:
    """The pinned uv as a lock: `hub mirror` copies its wheel, so an offline node builds."""
    pins, hashes, _ = parse_requirements_output(_PINNED.read_text(), [_PINNED.name])
    return Lock.from_pins(pins, hashes=hashes, resolver="pinned")


def tool_needed(target: Target) -> Needed:
    """The pinned uv as a wheel to find for ``target``."""
    lock = tool_lock()
    (name, version), = lock.pins
    return Needed(name, version, frozenset(lock.hash_dict[name]), target)
