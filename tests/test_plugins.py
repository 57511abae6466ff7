"""Registry logic with inline plugins: plugin objects behind stand-in entry points, each
loaded into a fresh plugin manager as installed ones are (no distribution installed, no
subprocess). tests/test_registry.py does the same through real installed distributions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.app import InProcessHub

import hub
from hub import OperatorConflict, OperatorNotFound
from hub._registry import OperatorAccessor, Registry
from hub.client import HubClient
from hub.config import Settings


@dataclass(frozen=True)
class Dist:
    name: str
    version: str = "1.0"


@dataclass
class InlineEntryPoint:
    """What the loader reads of an entry point (name, dist, load), with the plugin object
    in hand; ``loads`` counts imports, so a test can see one never happened."""

    name: str
    plugin: object
    dist: Dist
    loads: int = field(default=0)

    def load(self) -> object:
        self.loads += 1
        if isinstance(self.plugin, Exception):
            raise self.plugin
        return self.plugin


def plugin(*registrations: tuple[str, str, dict[str, Any]],
           then: Exception | None = None) -> object:
    """A plugin object whose hook registers each (name, target, metadata), then raises
    ``then`` if given."""

    class Plugin:
        @hub.hookimpl
        def register_operators(self, register: Callable[..., None]) -> None:
            for name, target, metadata in registrations:
                register(name, target, **metadata)
            if then is not None:
                raise then

    return Plugin()


def op(name: str, **metadata: Any) -> tuple[str, str, dict[str, Any]]:
    return name, f"inline_{name.replace('-', '_')}:run", metadata


def discover(monkeypatch: pytest.MonkeyPatch, *entry_points: InlineEntryPoint,
             **env: str) -> Registry:
    monkeypatch.setattr("hub._registry.iter_entry_points", lambda: list(entry_points))
    return Registry.discover(env)


def rows(registry: Registry) -> list[tuple[str, str, str]]:
    return [(r.name, r.distribution, r.status) for r in registry.records]


def test_each_registration_is_attributed_to_its_distribution(monkeypatch) -> None:
    registry = discover(monkeypatch,
                        InlineEntryPoint("a", plugin(op("embed"), op("decode", kind="class")),
                                         Dist("dist-a", "2.1")),
                        InlineEntryPoint("b", plugin(op("rank")), Dist("dist-b")))
    assert rows(registry) == [("decode", "dist-a", "ok"), ("embed", "dist-a", "ok"),
                              ("rank", "dist-b", "ok")]
    spec = registry.get("decode")
    assert (spec.kind, spec.distribution, spec.version) == ("class", "dist-a", "2.1")


def test_a_hook_that_fails_half_way_keeps_nothing_of_its_plugin(monkeypatch) -> None:
    registry = discover(monkeypatch,
                        InlineEntryPoint("half", plugin(op("first"), then=RuntimeError("boom")),
                                         Dist("dist-half")),
                        InlineEntryPoint("fine", plugin(op("fine")), Dist("dist-fine")))
    assert rows(registry) == [("fine", "dist-fine", "ok"), ("half", "dist-half", "broken")]
    assert registry.records[1].error == "RuntimeError: boom"
    with pytest.raises(OperatorNotFound):
        registry.get("first")  # registered before the failure: dropped with the plugin


def test_a_plugin_that_cannot_import_is_broken_and_the_others_load(monkeypatch) -> None:
    missing = ModuleNotFoundError("No module named 'torchvision'")
    registry = discover(monkeypatch, InlineEntryPoint("gone", missing, Dist("dist-gone")),
                        InlineEntryPoint("fine", plugin(op("fine")), Dist("dist-fine")))
    assert rows(registry) == [("fine", "dist-fine", "ok"), ("gone", "dist-gone", "broken")]
    assert "torchvision" in str(registry.records[1].error)


def test_a_registration_that_breaks_the_contract_breaks_its_plugin(monkeypatch) -> None:
    registry = discover(monkeypatch, InlineEntryPoint(
        "bad", plugin(op("good"), op("greedy", num_cpus=-1)), Dist("dist-bad")))
    [record] = registry.records
    assert (record.name, record.status) == ("bad", "broken")
    assert record.error == ("InvalidOperator: operator 'greedy': num_cpus=-1 must be a finite "
                            "number >= 0; fix its register() call")
    with pytest.raises(OperatorNotFound):
        registry.get("good")  # registered before the bad one: dropped with the plugin


def test_a_disabled_distribution_is_never_imported(monkeypatch) -> None:
    skipped = InlineEntryPoint("off", plugin(op("off")), Dist("dist-off"))
    registry = discover(monkeypatch, skipped, InlineEntryPoint("on", plugin(op("on")),
                                                               Dist("dist-on")),
                        HUB_DISABLE_OPERATORS="dist-off")
    assert skipped.loads == 0
    assert rows(registry) == [("off", "dist-off", "disabled"), ("on", "dist-on", "ok")]


def test_a_name_claimed_twice_is_a_conflict_until_one_is_disabled(monkeypatch) -> None:
    one = InlineEntryPoint("one", plugin(op("shared")), Dist("dist-one"))
    two = InlineEntryPoint("two", plugin(op("shared")), Dist("dist-two"))
    registry = discover(monkeypatch, one, two)
    assert rows(registry) == [("shared", "dist-one", "conflict"),
                              ("shared", "dist-two", "conflict")]
    with pytest.raises(OperatorConflict, match="HUB_DISABLE_OPERATORS=dist-two"):
        registry.get("shared")
    chosen = discover(monkeypatch, one, two, HUB_DISABLE_OPERATORS="two")
    assert chosen.get("shared").distribution == "dist-one"


def test_the_same_plugin_object_behind_two_entry_points_loads_twice(monkeypatch) -> None:
    """A fresh plugin manager per entry point: pluggy would refuse the second register()
    into one manager; here each is attributed to its own distribution."""
    shared = plugin(op("alpha"))
    registry = discover(monkeypatch, InlineEntryPoint("x", shared, Dist("dist-x")),
                        InlineEntryPoint("y", shared, Dist("dist-y")))
    assert rows(registry) == [("alpha", "dist-x", "conflict"), ("alpha", "dist-y", "conflict")]


def test_loading_one_of_two_claimants_resolves_the_conflict(monkeypatch) -> None:
    one = InlineEntryPoint("one", plugin(op("shared")), Dist("dist-one"))
    two = InlineEntryPoint("two", plugin(op("shared")), Dist("dist-two"))
    registry = discover(monkeypatch, one, two, HUB_LOAD_OPERATORS="dist-one")
    assert registry.get("shared").distribution == "dist-one"
    assert rows(registry) == [("shared", "dist-one", "ok"), ("shared", "dist-two", "disabled")]
    both = discover(monkeypatch, one, two)
    with pytest.raises(OperatorConflict, match="dist-one.*dist-two"):
        both.get("shared")


def test_an_operator_not_installed_comes_from_the_hub(hub_app: InProcessHub, make_wheel,
                                                      capsys) -> None:
    """``ops``'s fallback, with the hub app in-process behind the client's session."""
    assert hub_app.upload(make_wheel("opshub-demo", "1.0")).ok
    settings = Settings(url=hub_app.url, hub_configured=True)
    ops = OperatorAccessor(discover=lambda: Registry([]), settings=lambda: settings,
                           client=lambda s: HubClient(s.url, session=hub_app.session))
    spec = ops.spec("opshub-demo")
    assert (spec.target, spec.origin.distribution, spec.origin.version) == (
        "opshub_demo.impl:run", "opshub-demo", "1.0")
    assert "opshub-demo" in capsys.readouterr().err  # the notice: where it came from
    with pytest.raises(OperatorNotFound, match=f"nor found on the hub at {hub_app.url}"):
        ops.spec("opshub-nothing")
