"""The public face of each package is its sorted __all__ (as httpx pins it)."""

import hub


def test_all_is_sorted_and_every_name_resolves():
    assert hub.__all__ == sorted(hub.__all__)
    for name in hub.__all__:
        assert getattr(hub, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    try:
        hub.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
