"""Reading the runtime_env opshub emits: the node env's spec inside its launcher."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from runtime_env import _node_builder


def node_spec(env: Mapping[str, Any]) -> dict[str, Any]:
    """The requirements and install options a node env's ``py_executable`` carries."""
    return dict(json.loads(_node_builder.decode(shlex.split(env["py_executable"])[-1])))
