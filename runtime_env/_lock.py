"""A pinned lock: what a resolver produced for one set of requirements, with file hashes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from ._errors import ResolutionError

_HASH = re.compile(r"--hash[=\s]+sha256:([0-9a-fA-F]{64})")
_FROM = re.compile(r"#\s*from\s+(\S+)")  # uv's --emit-index-annotation
Hashes = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Lock:
    """Exact pins (normalized name -> version), their sha256 hashes, the indexes searched,
    and the index each pin came from (``origins``, when the resolver says: uv does).

    >>> Lock.from_pins({"Toolz": "1.0.0"}).requirements_txt()
    'toolz==1.0.0\\n'
    """

    pins: tuple[tuple[str, str], ...] = ()
    resolver: str = ""
    indexes: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)
    hashes: Hashes = ()
    origins: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_pins(cls, pins: Mapping[str, str] | Iterable[tuple[str, str]],
                  hashes: Mapping[str, Iterable[str]] | None = None,
                  origins: Mapping[str, str] | None = None, **kw: Any) -> Lock:
        items = pins.items() if isinstance(pins, Mapping) else pins
        found = {canonicalize_name(n): tuple(sorted(set(h))) for n, h in (hashes or {}).items()}
        return cls(tuple(sorted((canonicalize_name(n), v) for n, v in items)),
                   hashes=tuple(sorted((n, h) for n, h in found.items() if h)),
                   origins=tuple(sorted((canonicalize_name(n), o)
                                        for n, o in (origins or {}).items())), **kw)

    @property
    def as_dict(self) -> dict[str, str]:
        return dict(self.pins)

    @property
    def hash_dict(self) -> dict[str, tuple[str, ...]]:
        return dict(self.hashes)

    @property
    def origin_dict(self) -> dict[str, str]:
        return dict(self.origins)

    def lines(self) -> list[str]:
        """``name==version`` lines, sorted."""
        return [f"{name}=={version}" for name, version in self.pins]

    def hashed_lines(self) -> list[str]:
        """``name==version --hash=sha256:...`` lines, for pip's hash-checking mode."""
        hashes = self.hash_dict
        return [" ".join([f"{n}=={v}", *(f"--hash=sha256:{h}" for h in hashes.get(n, ()))])
                for n, v in self.pins]

    def unhashed(self) -> list[str]:
        """Pins without a hash (a lock from an index that serves none)."""
        hashes = self.hash_dict
        return [n for n, _ in self.pins if not hashes.get(n)]

    def requirements_txt(self, with_hashes: bool = False) -> str:
        lines = self.hashed_lines() if with_hashes else self.lines()
        return "".join(line.replace(" --hash", " \\\n    --hash") + "\n" for line in lines)

    def pylock_toml(self) -> str:
        """A minimal PEP 751 ``pylock.toml`` (names, versions and wheel hashes)."""
        out = ['lock-version = "1.0"', f'created-by = "opshub ({self.resolver or "-"})"', ""]
        hashes = self.hash_dict
        for name, version in self.pins:
            out += ["[[packages]]", f'name = "{name}"', f'version = "{version}"']
            out += [f'wheels = [{{ hashes = {{ sha256 = "{h}" }} }}]' for h in
                    hashes.get(name, ())[:1]]
            out.append("")
        return "\n".join(out)

    def without(self, names: Iterable[str]) -> Lock:
        """The lock minus some packages (e.g. those the nodes already have)."""
        drop = {canonicalize_name(n) for n in names}
        return Lock(tuple(p for p in self.pins if p[0] not in drop), self.resolver,
                    self.indexes, self.meta, tuple(h for h in self.hashes if h[0] not in drop),
                    tuple(o for o in self.origins if o[0] not in drop))

    def to_json(self) -> str:
        return json.dumps({"pins": dict(self.pins), "resolver": self.resolver,
                           "indexes": list(self.indexes), "meta": dict(self.meta),
                           "hashes": {n: list(h) for n, h in self.hashes},
                           "origins": dict(self.origins)},
                          indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Lock:
        """A lock from :meth:`to_json`; ValueError for anything of another shape."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a lock is a JSON object")  # noqa: TRY004 - a JSON error
        pins, hashes = data.get("pins"), data.get("hashes", {})
        resolver, indexes, meta = data.get("resolver"), data.get("indexes"), data.get("meta", {})
        origins = data.get("origins", {})
        if not (_str_map(pins) and isinstance(resolver, str) and _str_list(indexes)
                and isinstance(meta, dict) and isinstance(hashes, dict) and _str_map(origins)
                and all(_str_list(h) for h in hashes.values())):
            raise ValueError("a lock has pins {name: version}, resolver, indexes, hashes and "
                             "origins {name: index}")
        assert isinstance(pins, dict) and isinstance(indexes, list)  # checked just above
        return cls.from_pins(pins, hashes=hashes, origins=origins, resolver=resolver,
                             indexes=tuple(indexes), meta=meta)


def _str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items())


def _str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def parse_requirements_output(text: str, command: list[str]
                              ) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
    """Pins, their hashes and the index each came from (when annotated) from a resolver's
    requirements-format output."""
    pins: dict[str, str] = {}
    hashes: dict[str, list[str]] = {}
    origins: dict[str, str] = {}
    key = ""
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        origin = _FROM.search(raw)
        if not line or line.startswith("-"):
            if origin and key:
                origins[key] = origin.group(1)  # the line after its pin (no hashes)
            continue
        name, sep, rest = line.partition("==")
        if not sep:
            raise ResolutionError(
                f"resolver output line {raw!r} is not an exact pin 'name==version'; "
                "the resolver may be misconfigured", command)
        key = canonicalize_name(name.split("[")[0].strip())
        pins[key] = rest.split(";")[0].split()[0]
        hashes[key] = [h.lower() for h in _HASH.findall(raw.split(" #", 1)[0])]
        if origin:
            origins[key] = origin.group(1)
    return pins, hashes, origins
