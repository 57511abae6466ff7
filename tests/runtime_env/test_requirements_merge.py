"""Requirements for a target, the base environment, and conflict detection for fused stages."""

from __future__ import annotations

import pytest

from hub import ConfigError, InvalidOperator
from runtime_env import Lock, PinConflict, Target, base_constraints, merge, requirements_for
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


def test_merge_combines_agreeing_locks_and_their_hashes() -> None:
    merged = merge({"a": Lock.from_pins({"six": "1.16.0"}, resolver="uv"),
                    "b": Lock.from_pins({"six": "1.16.0", "toolz": "1.0.0"}, resolver="uv",
                                        hashes={"toolz": ["ab" * 32]})})
    assert merged.as_dict == {"six": "1.16.0", "toolz": "1.0.0"} and merged.resolver == "uv"
    assert merged.hash_dict == {"toolz": ("ab" * 32,)}


def test_merge_names_both_operators_and_the_package() -> None:
    with pytest.raises(PinConflict) as info:
        merge({"toolz-version-a": Lock.from_pins({"toolz": "0.12.1"}),
               "toolz-version-b": Lock.from_pins({"toolz": "1.0.0"})})
    message = str(info.value)
    assert "'toolz-version-a' pins toolz==0.12.1" in message
    assert "'toolz-version-b' pins toolz==1.0.0" in message
    assert info.value.package == "toolz"
