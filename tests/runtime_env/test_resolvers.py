"""Real resolvers on tiny pure-python requirement sets, against a local index
(``package_index``: six, toolz, tabulate at fixed versions), and once against PyPI."""

from __future__ import annotations

import subprocess

import pytest
from support.index import Index

from hub import ConfigError
from runtime_env import (
    PYPI,
    LockRequest,
    PipToolsResolver,
    ResolutionError,
    Target,
    UvResolver,
    get_resolver,
)
from runtime_env._lock import Lock, parse_requirements_output

HERE = Target.current()
# pip-compile starts pip for each lock (about 1 s): its runs are `slow`, uv's are not
RESOLVERS = pytest.mark.parametrize("resolver", [
    pytest.param(UvResolver(), id="uv"),
    pytest.param(PipToolsResolver(), id="pip-tools", marks=pytest.mark.slow)])


@RESOLVERS
def test_resolvers_pin_hash_and_respect_constraints(resolver, package_index: Index) -> None:
    lock = resolver.resolve(LockRequest.create(["toolz<1", "six"], {"six": "1.16.0"}, HERE,
                                               [package_index.simple]))
    assert lock.as_dict == {"six": "1.16.0", "toolz": "0.12.1"}
    assert lock.resolver == resolver.name and not lock.unhashed()
    assert all(len(h) == 64 for hashes in lock.hash_dict.values() for h in hashes)


@pytest.mark.network
@RESOLVERS
def test_resolvers_lock_from_pypi(resolver) -> None:
    """The real index once: old pins whose answer no new release can change."""
    lock = resolver.resolve(LockRequest.create(["toolz<1", "six"], {"six": "1.16.0"}, HERE,
                                               [PYPI]))
    assert lock.as_dict == {"six": "1.16.0", "toolz": "0.12.1"} and not lock.unhashed()


def test_uv_locks_for_another_python(package_index: Index) -> None:
    # toolz 1.0.0 requires Python >= 3.8; ask for 3.7 and get the last 0.x (no CPython 3.7
    # is downloaded for that: the resolver runs with this interpreter)
    request = LockRequest.create(["toolz"], {}, Target("3.7", "linux", "x86_64"),
                                 [package_index.simple])
    assert UvResolver().resolve(request).as_dict == {"toolz": "0.12.1"}
    assert UvResolver().resolve(LockRequest.create(
        ["toolz"], {}, Target("3.11", "linux", "x86_64"), [package_index.simple])
    ).as_dict == {"toolz": "1.0.0"}  # the same index for 3.11: the newest


def test_pip_tools_refuses_a_foreign_target() -> None:
    with pytest.raises(ConfigError, match="use --resolver uv"):
        PipToolsResolver().resolve(LockRequest.create(["toolz"], {}, Target("3.7", "linux", "x86_64"), [PYPI]))


@pytest.mark.parametrize("name", ["uv", "pip-tools"])
def test_unknown_package_is_a_resolution_error(name: str, package_index: Index) -> None:
    with pytest.raises(ResolutionError) as info:
        get_resolver(name).resolve(LockRequest.create(["opshub-no-such-package-zz9"], {}, HERE,
                                                      [package_index.simple]))
    err = info.value
    assert err.returncode not in (0, None) and err.command and err.stderr
    assert "opshub-no-such-package-zz9" in str(err)
    assert "/simple/opshub-no-such-package-zz9/" in [r.path for r in package_index.log]


def test_impossible_pins_are_a_resolution_error(package_index: Index) -> None:
    with pytest.raises(ResolutionError, match="toolz"):
        UvResolver().resolve(LockRequest.create(["toolz==1.0.0"], {"toolz": "0.12.1"}, HERE,
                                                [package_index.simple]))


@pytest.mark.slow
def test_unreachable_index_is_a_resolution_error(package_index: Index) -> None:
    with pytest.raises(ResolutionError, match="127.0.0.1:9"):
        UvResolver().resolve(LockRequest.create(["toolz"], {}, HERE, ["http://127.0.0.1:9/simple/",
                                                                      package_index.simple]))


def test_a_resolver_that_cannot_start_is_a_resolution_error() -> None:
    def missing(command: list[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(command[0])

    with pytest.raises(ResolutionError, match="could not run"):
        UvResolver(missing).resolve(LockRequest.create(["toolz"], {}, HERE, [PYPI]))


def test_empty_requirements_run_nothing() -> None:
    def fail(command: list[str]) -> subprocess.CompletedProcess[str]:
        raise AssertionError("no resolver run expected")

    assert UvResolver(fail).resolve(LockRequest.create([], {}, HERE, [PYPI])).pins == ()


def test_unknown_resolver_name() -> None:
    with pytest.raises(ConfigError, match="use one of"):
        get_resolver("poetry")


def test_parse_output_skips_options_keeps_hashes_and_rejects_loose_lines() -> None:
    digest = "ab" * 32
    text = (f"--index-url x\n# c\nToolz==1.0.0 \\\n    --hash=sha256:{digest} \\\n"
            "    # from http://i/simple\nsix==1.16.0 ; python_version > '3'\n"
            "    # from file:///opt/wheels\n")  # uv's index annotations, with or without hashes
    pins, hashes, origins = parse_requirements_output(text, [])
    assert pins == {"toolz": "1.0.0", "six": "1.16.0"}
    assert hashes == {"toolz": [digest], "six": []}
    assert origins == {"toolz": "http://i/simple", "six": "file:///opt/wheels"}
    with pytest.raises(ResolutionError, match="not an exact pin"):
        parse_requirements_output("toolz>=1\n", ["uv"])


def test_lock_formats_round_trip() -> None:
    lock = Lock.from_pins({"Toolz": "1.0.0", "six": "1.16.0"}, resolver="uv", indexes=(PYPI,),
                          hashes={"toolz": ["ab" * 32]}, origins={"Toolz": PYPI})
    assert lock.requirements_txt() == "six==1.16.0\ntoolz==1.0.0\n"
    assert lock.hashed_lines() == ["six==1.16.0", f"toolz==1.0.0 --hash=sha256:{'ab' * 32}"]
    assert lock.unhashed() == ["six"]
    assert Lock.from_json(lock.to_json()) == lock
    assert '[[packages]]\nname = "toolz"\nversion = "1.0.0"' in lock.pylock_toml()
    assert lock.without(["SIX"]).as_dict == {"toolz": "1.0.0"}
