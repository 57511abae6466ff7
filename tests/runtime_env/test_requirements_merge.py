"""Requirements for a target, the base environment, and naming the conflict when operators
that share an env have no joint resolution (a fake resolver: pure logic)."""

from __future__ import annotations

import pytest

from hub import ConfigError, InvalidOperator
from runtime_env import (
    Lock,
    ResolutionError,
    Target,
    base_constraints,
    requirements_for,
)
from runtime_env._conflicts import find_conflict
from runtime_env._requirements import installed_version


def test_markers_and_extras_are_evaluated_for_the_target() -> None:
    old = requirements_for("ray", Target("3.11", "linux"), extras=["default"])
    new = requirements_for("ray", Target("3.14", "linux"), extras=["default"])
    assert "pydantic<3,>=2.5.0" in old and "pydantic<3,>=2.13.0" in new
    assert not any(r.startswith("py-spy") and ">=0.4" in r for r in old)
    assert not any(r.startswith("aiohttp") for r in requirements_for("ray", Target("3.11")))


def test_operator_requirements_drop_opshub_itself(test_ops) -> None:
    assert requirements_for("opshub-test-dep", Target.current()) == ["tabulate>=0.9"]
    assert requirements_for("opshub-test-basic", Target.current()) == []


def test_unknown_distribution() -> None:
    with pytest.raises(InvalidOperator, match="hub install opshub-nope"):
        requirements_for("opshub-nope", Target.current())


def test_base_is_ray_default_closure_at_driver_versions() -> None:
    base = base_constraints(Target.current())
    assert base["ray"] == installed_version("ray")
    assert {"aiohttp", "virtualenv", "requests", "pydantic"} <= set(base)
    assert "torch" not in base and "opshub" not in base


def test_bad_target() -> None:
    with pytest.raises(ConfigError, match="3.11"):
        Target("eleven")
    with pytest.raises(ConfigError, match="uv can lock for"):
        _ = Target("3.11", "sunos", "sparc").uv_platform


# A fake resolver over a tiny universe: x 1.0 requires numpy<2; numpy 1.26.4 and 2.1.0;
# toolz 0.12.1 and 1.0.0. It resolves by brute force, as a real one would answer.
UNIVERSE = {"numpy": ["2.1.0", "1.26.4"], "toolz": ["1.0.0", "0.12.1"], "x": ["1.0"]}
DEPENDS = {"x": ["numpy<2"]}


def fake_lock(requirements, runs=None):  # type: ignore[no-untyped-def]
    from packaging.requirements import Requirement

    if runs is not None:
        runs.append(sorted(requirements))
    wanted = [Requirement(r) for r in requirements]
    wanted += [Requirement(d) for r in wanted for d in DEPENDS.get(r.name, [])]
    pins = {}
    for req in wanted:
        fits = [v for v in UNIVERSE[req.name] if req.specifier.contains(v)
                and all(o.specifier.contains(v) for o in wanted if o.name == req.name)]
        if not fits:
            raise ResolutionError(f"no version of {req.name} fits")
        pins[req.name] = fits[0]
    return Lock.from_pins(pins)


def test_two_operators_that_contradict_are_named_with_the_package() -> None:
    runs: list[list[str]] = []
    found = find_conflict({"a": ["toolz==0.12.1"], "b": ["toolz==1.0.0", "numpy"]},
                          lambda reqs: fake_lock(reqs, runs))
    assert found is not None and found.package == "toolz"
    assert str(found).startswith("operator 'a' pins toolz==0.12.1 but operator 'b' pins "
                                 "toolz==1.0.0; they cannot share one env")
    assert len(runs) == 2  # each alone; the pair is the union, known to fail


def test_the_pair_that_conflicts_among_three() -> None:
    found = find_conflict({"a": ["numpy>=2"], "b": ["toolz"], "c": ["x"]}, fake_lock)
    assert found is not None and [op for op, _ in found.pins] == ["a", "c"]
    # c asks nothing of numpy itself: its own lock's version, through its requirements
    assert found.pins == [("a", ">=2"), ("c", "==1.26.4 (through its requirements)")]
    assert found.package == "numpy"


def test_an_operator_that_fails_alone_raises_its_own_error() -> None:
    with pytest.raises(ResolutionError, match="no version of numpy fits"):
        find_conflict({"a": ["numpy>3"], "b": ["toolz"]}, fake_lock)


def test_no_two_in_conflict_is_no_pin_conflict() -> None:
    def three_way(requirements):  # type: ignore[no-untyped-def]
        if len(requirements) == 3:
            raise ResolutionError("only all three together fail")
        return Lock.from_pins({})

    assert find_conflict({"a": ["p"], "b": ["q"], "c": ["r"]}, three_way) is None
