"""A pinned lock: what a resolver produced for one set of requirements."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from hub._exceptions import ResolutionError


@dataclass(frozen=True)
class Lock:
    """Exact pins (normalized name -> version) plus where they came from.

    >>> Lock.from_pins({"Toolz": "1.0.0"}).requirements_txt()
    'toolz==1.0.0\\n'
    """

    pins: tuple[tuple[str, str], ...] = ()
    resolver: str = ""
    indexes: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_pins(cls, pins: Mapping[str, str] | Iterable[tuple[str, str]], **kw: Any) -> Lock:
        items = pins.items() if isinstance(pins, Mapping) else pins
        return cls(tuple(sorted((canonicalize_name(n), v) for n, v in items)), **kw)

    @property
    def as_dict(self) -> dict[str, str]:
        return dict(self.pins)

    def lines(self) -> list[str]:
        """``name==version`` lines, sorted."""
        return [f"{name}=={version}" for name, version in self.pins]

    def requirements_txt(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def pylock_toml(self) -> str:
        """A minimal PEP 751 ``pylock.toml`` (names and versions; no file hashes)."""
        out = ['lock-version = "1.0"', f'created-by = "opshub ({self.resolver or "-"})"', ""]
        for name, version in self.pins:
            out += ["[[packages]]", f'name = "{name}"', f'version = "{version}"', ""]
        return "\n".join(out)

    def without(self, names: Iterable[str]) -> Lock:
        """The lock minus some packages (e.g. those the base environment provides)."""
        drop = {canonicalize_name(n) for n in names}
        return Lock(tuple(p for p in self.pins if p[0] not in drop), self.resolver,
                    self.indexes, self.meta)

    def to_json(self) -> str:
        return json.dumps({"pins": dict(self.pins), "resolver": self.resolver,
                           "indexes": list(self.indexes), "meta": dict(self.meta)},
                          indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Lock:
        data = json.loads(text)
        return cls.from_pins(data["pins"], resolver=data["resolver"],
                             indexes=tuple(data["indexes"]), meta=data.get("meta", {}))


def parse_requirements_output(text: str, command: list[str]) -> dict[str, str]:
    """Pins from a resolver's requirements-format output (comments and options skipped)."""
    pins: dict[str, str] = {}
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, rest = line.partition("==")
        if not sep:
            raise ResolutionError(
                f"resolver output line {raw!r} is not an exact pin 'name==version'; "
                "the resolver may be misconfigured", command)
        pins[canonicalize_name(name.split("[")[0].strip())] = rest.split(";")[0].split()[0]
    return pins
