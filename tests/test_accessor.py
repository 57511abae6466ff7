"""``ops``: attribute access is Python's protocol (AttributeError), item access a mapping's
(KeyError). A fake registry: no distributions, no hub."""

from __future__ import annotations

import pytest

from hub import OperatorNotFound, OperatorSpec
from hub._registry import OperatorAccessor, OperatorRecord, Registry
from hub.config import load_settings

NEGATE = OperatorSpec.create("negate", "operator:neg")


def accessor() -> OperatorAccessor:
    registry = Registry([OperatorRecord("negate", "negate-dist", "1.0", "ok", spec=NEGATE)])
    return OperatorAccessor(lambda: registry, lambda: load_settings({"HUB_FALLBACK": "0"}))


def test_hasattr_and_getattr_with_a_default_work() -> None:
    ops = accessor()
    assert hasattr(ops, "negate") and not hasattr(ops, "negat")
    assert getattr(ops, "no_such_op", None) is None
    assert ops.negate()(3) == -3


def test_an_unknown_attribute_is_an_attribute_error_and_still_says_how_to_install() -> None:
    with pytest.raises(AttributeError) as info:
        _ = accessor().negat
    assert isinstance(info.value, OperatorNotFound)
    assert str(info.value) == ("operator 'negat' is not installed — did you mean 'negate'? "
                               "Run `hub install negate`.")


def test_an_unknown_item_is_a_key_error_not_an_attribute_error() -> None:
    with pytest.raises(KeyError) as info:
        accessor()["negat"]
    assert isinstance(info.value, OperatorNotFound)
    assert not isinstance(info.value, AttributeError)


def test_private_names_are_python_s_probes_and_never_discovered() -> None:
    def discover() -> Registry:
        raise AssertionError("a probe must not scan the installed operators")

    ops = OperatorAccessor(discover)
    assert not hasattr(ops, "_repr_html_") and not hasattr(ops, "__wrapped__")
