"""Discovery through real entry points of the installed test distributions."""

import json
import subprocess
import sys

import pytest

import hub
from hub import OperatorBroken, OperatorConflict, OperatorNotFound
from hub._registry import Registry

pytestmark = pytest.mark.usefixtures("test_ops")


def by_name(registry):
    return {r.name: r for r in registry.records}


def test_operators_are_discovered_with_their_distribution_and_metadata():
    records = by_name(Registry.discover())
    running = records["running-sum"]
    assert (running.distribution, running.version, running.status) == (
        "opshub-test-basic", "1.0.0", "ok"
    )
    assert running.spec.kind == "class" and running.spec.batch
    assert running.spec.resources.num_cpus == 0.5
    assert running.spec.inputs == ("number",)
    assert records["tensor-sum"].distribution == "opshub-test-heavy"


def test_a_broken_plugin_is_listed_with_its_error_and_the_others_still_work():
    registry = Registry.discover()
    broken = by_name(registry)["broken-op"]
    assert broken.status == "broken"
    assert "opshub_missing_dependency" in broken.error
    assert hub.ops.add_one()(1) == 2
    with pytest.raises(OperatorBroken, match="opshub-test-broken"):
        registry.get("broken-op")


def test_a_name_claimed_by_two_distributions_is_reported_not_dropped():
    registry = Registry.discover()
    claims = [r for r in registry.records if r.name == "shared-name"]
    assert {r.distribution for r in claims} == {"opshub-test-basic", "opshub-test-collide"}
    assert all(r.status == "conflict" for r in claims)
    with pytest.raises(OperatorConflict, match="opshub-test-basic and opshub-test-collide"):
        registry.get("shared-name")


def test_disabling_a_distribution_resolves_the_conflict(monkeypatch):
    monkeypatch.setenv("HUB_DISABLE_OPERATORS", "opshub-test-collide")
    registry = Registry.discover()
    assert registry.get("shared-name").distribution == "opshub-test-basic"
    assert by_name(registry)["collide"].status == "disabled"  # not even imported
    assert "negate" not in registry.names()


def test_load_only_selected_operators(monkeypatch):
    monkeypatch.setenv("HUB_LOAD_OPERATORS", "add-one,opshub-test-heavy")
    registry = Registry.discover()
    assert sorted(registry.names()) == ["add-one", "tensor-sum"]
    with pytest.raises(OperatorNotFound):
        registry.get("multiply")


def test_ops_accessor_by_attribute_and_item_with_dashes_or_underscores():
    assert hub.ops.multiply(factor=5)(3) == 15
    assert hub.ops["multiply"](factor=5)(3) == 15
    assert hub.ops["running_sum"](start=10).call_batch([1, 2]) == [11, 12]
    assert "add_one" in dir(hub.ops)


def test_unknown_operator_says_how_to_install_and_suggests_close_names():
    with pytest.raises(OperatorNotFound) as info:
        _ = hub.ops.add_onee
    message = str(info.value)
    assert "hub install add-one" in message and "'add-one'" in message
    assert isinstance(info.value, KeyError)


def test_listing_imports_no_operator_implementation():
    code = (
        "import json, sys; from hub._registry import Registry;"
        "names = Registry.discover().names();"
        "print(json.dumps([names, sorted(m for m in sys.modules "
        "if m == 'torch' or m.startswith('opshub_test_') and m.endswith('.impl'))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, imported = json.loads(out.stdout)
    assert "tensor-sum" in names
    assert imported == []


@pytest.mark.slow  # imports torch
def test_first_use_imports_the_implementation():
    code = (
        "import sys; import hub; op = hub.ops.tensor_sum();"
        "assert 'torch' not in sys.modules; print(op([1, 2.5]), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3.5", "True"]
