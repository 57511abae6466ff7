"""The content-addressed lock cache: keys, warm lookups, concurrency, list and prune.

Resolutions run real uv against the session's local index (``package_index``); the tests
of damaged entries, which are about the cache alone, use a resolver that returns a fixed
lock."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from support.index import Index

from runtime_env import PYPI, Cooldown, Lock, LockCache, LockRequest, Sources, Target, UvResolver
from runtime_env._resolvers import run

REQUEST = LockRequest.create(["toolz==1.0.0"], {"six": "1.16.0"}, Target("3.11", "linux"),
                             [PYPI])


def fail(command: list[str]) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"a warm lookup ran a resolver: {command}")


def test_key_covers_every_input() -> None:
    uv = UvResolver()
    variants = [
        replace(REQUEST, requirements=("toolz==0.12.1",)),
        replace(REQUEST, constraints=(("six", "1.17.0"),)),
        replace(REQUEST, target=Target("3.12", "linux")),
        replace(REQUEST, target=Target("3.11", "darwin", "arm64")),
        replace(REQUEST, sources=Sources(PYPI, ("http://hub/simple/",))),
        replace(REQUEST, sources=Sources(PYPI, find_links=("/opt/wheels",))),
        replace(REQUEST, target=Target("3.11", "linux", accelerator="cu121")),
        replace(REQUEST, preferences=(("torch", "2.13.0+cpu"),)),
        replace(REQUEST, cooldown=Cooldown("7 days")),
    ]
    keys = {REQUEST.key(uv), *(v.key(uv) for v in variants)}
    assert len(keys) == 1 + len(variants)
    assert REQUEST.key(uv) != REQUEST.key(_OtherVersion())
    # order and duplicates of requirements do not matter
    same = LockRequest.create(["toolz==1.0.0", "toolz==1.0.0"], {"six": "1.16.0"},
                              Target("3.11", "linux"), [PYPI])
    assert same.key(uv) == REQUEST.key(uv)


class _OtherVersion(UvResolver):
    @property
    def version(self) -> str:
        return "0.0.1"


def from_index(index: Index) -> LockRequest:
    """REQUEST, locked from the local index."""
    return replace(REQUEST, sources=Sources(index.simple))


class Canned(UvResolver):
    """uv as far as the cache can tell (name, version), answering with a fixed lock."""

    def resolve(self, request: LockRequest) -> Lock:
        return Lock.from_pins({"toolz": "1.0.0"}, resolver=self.name, indexes=request.indexes,
                              hashes={"toolz": ["ab" * 32]})


def test_warm_lookup_touches_no_resolver(tmp_path: Path, package_index: Index) -> None:
    cache, request = LockCache(tmp_path), from_index(package_index)
    cold = cache.get_or_resolve(request, UvResolver())
    warm = cache.get_or_resolve(request, UvResolver(fail))
    assert warm == cold and warm.as_dict == {"toolz": "1.0.0"} and not warm.unhashed()
    assert [e.pins for e in cache.entries()] == [1]


def _lock_text(**fields: object) -> str:
    return json.dumps({"pins": {}, "resolver": "uv", "indexes": [], **fields})


WRONG_SHAPES = [
    "{not json", "[]", '"a string"', json.dumps({"lock": 5}), json.dumps({"lock": "[1, 2]"}),
    json.dumps({"lock": _lock_text(pins=["toolz"])}),
    json.dumps({"lock": _lock_text(pins={"toolz": 1})}),
    json.dumps({"lock": _lock_text(hashes={"toolz": "ab"})}),
    json.dumps({"lock": _lock_text(), "requirements": "toolz", "created": "yesterday"}),
]


@pytest.mark.parametrize("text", WRONG_SHAPES, ids=range(len(WRONG_SHAPES)))
def test_a_damaged_or_wrong_shape_entry_is_a_miss_and_is_replaced(tmp_path: Path,
                                                                  text: str) -> None:
    """The attack (issue #11): overwrite a cached lock with valid JSON of another shape."""
    cache = LockCache(tmp_path)
    cache.get_or_resolve(REQUEST, Canned())
    path = cache.path(REQUEST.key(Canned()))
    path.write_text(text)
    assert cache.get(REQUEST.key(Canned())) is None
    assert cache.entries() == []  # `hub cache list` skips it instead of crashing
    assert cache.get_or_resolve(REQUEST, Canned()).as_dict == {"toolz": "1.0.0"}
    assert json.loads(path.read_text())["requirements"] == ["toolz==1.0.0"]  # replaced


def test_failed_resolution_leaves_no_entry(tmp_path: Path, package_index: Index) -> None:
    cache = LockCache(tmp_path)
    bad = replace(from_index(package_index), requirements=("opshub-no-such-package-zz9",))
    with pytest.raises(Exception, match="could not resolve.*opshub-no-such-package-zz9"):
        cache.get_or_resolve(bad, UvResolver())
    assert cache.entries() == [] and not list(tmp_path.glob("*.tmp"))


def test_list_and_prune(tmp_path: Path) -> None:
    cache = LockCache(tmp_path)
    cache.get_or_resolve(REQUEST, Canned())
    (entry,) = cache.entries()
    assert entry.requirements == ("toolz==1.0.0",) and entry.to_dict()["resolver"] == "uv"
    assert cache.prune(older_than=3600) == 0
    assert cache.prune(older_than=3600, now=entry.created + 7200) == 1
    assert cache.entries() == [] and list(tmp_path.iterdir()) == []


WORKER = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from runtime_env import LockCache, LockRequest, Target, UvResolver
    from runtime_env._resolvers import run

    calls = Path(sys.argv[2])

    def counting(command):
        with calls.open("a") as f:
            f.write("run\\n")
        return run(command)

    request = LockRequest.create(["toolz==1.0.0"], {}, Target("3.11", "linux"), [sys.argv[3]])
    lock = LockCache(Path(sys.argv[1])).get_or_resolve(request, UvResolver(counting))
    print(lock.to_json().replace("\\n", ""))
''')


def test_concurrent_processes_resolve_once(tmp_path: Path, package_index: Index) -> None:
    script, calls = tmp_path / "worker.py", tmp_path / "calls.txt"
    script.write_text(WORKER)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache"), str(calls),
                               package_index.simple], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({json.dumps(json.loads(o)) for o in outputs}) == 1
    assert calls.read_text().count("run") == 1
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_default_cache_lives_under_hub_cache_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_CACHE_DIR", str(tmp_path))
    assert LockCache.default().root == tmp_path / "locks"
    assert run(["true"]).returncode == 0
