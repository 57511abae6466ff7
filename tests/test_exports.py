"""The public face of each package is its sorted __all__ (as httpx pins it)."""

import pytest

import hub


def test_all_is_sorted_and_every_name_resolves():
    assert hub.__all__ == sorted(hub.__all__)
    for name in hub.__all__:
        assert getattr(hub, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = hub.no_such_thing


def test_every_error_class_is_exported_and_derives_from_hub_error():
    from hub import _exceptions

    classes = {n for n, v in vars(_exceptions).items() if isinstance(v, type)
               and issubclass(v, Exception) and v.__module__ == _exceptions.__name__}
    assert classes <= set(hub.__all__)
    assert all(issubclass(getattr(hub, n), hub.HubError) for n in classes)


def test_importing_hub_stays_light():
    import subprocess
    import sys

    code = "import sys, hub; print(sorted(m for m in ('ray', 'torch', 'requests', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
