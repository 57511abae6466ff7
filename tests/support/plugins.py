"""Inline operator plugins: a plugin module's source, loaded as the registry loads an entry
point (a fresh pluggy manager, the real ``register`` collector), without building a wheel."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from importlib_metadata import EntryPoint

from hub._plugins import PluginResult, Selection, load_plugin
from hub.hookspecs import ENTRY_POINT_GROUP

# A plugin module registering one operator; %s is the register() call's arguments.
PLUGIN = "import hub\n\n\n@hub.hookimpl\ndef register_operators(register):\n    register(%s)\n"


def load_source(source: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> PluginResult:
    """Write ``source`` as a module in ``folder`` and load it as an entry point would be."""
    module = f"inline_plugin_{uuid.uuid4().hex}"
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return load_plugin(EntryPoint(module, module, ENTRY_POINT_GROUP), Selection())
