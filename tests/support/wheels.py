"""Real wheels the mirror tests' local index serves beside the wheels they build.

A bare node's env needs more than an operator's own pins: what ``import hub`` needs
(opshub's runtime dependencies at this driver's versions) and the pinned uv the node
builds with, whose sha256 are fixed in ``runtime_env/_node_tool.txt``, so no wheel a
test builds can stand in for it. They are downloaded from PyPI once per machine and
kept, as :func:`support.cluster.bare_venv` keeps its venv; every resolution in the
tests is still against the local index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import hub
from runtime_env import Survey, Target
from runtime_env._node_tool import tool_lock
from runtime_env._planner import Scope, _runtime_requirements
from support import markers

HOME = Path(tempfile.gettempdir()) / f"opshub-node-wheels-{hub.__version__}"


def node_wheels() -> list[Path]:
    """The wheels of opshub's node runtime and of the pinned uv, for this machine.

    Downloaded from PyPI on a machine's first call: a test calling it must be able to
    reach the network (marked ``network``, ``ray`` or ``cluster``), cached or not, so it
    passes on a fresh machine as it does here.
    """
    if markers.RUNNING is not None and markers.offline(markers.RUNNING):
        raise markers.MarkerMissing("this test takes real wheels from PyPI (support.wheels) "
                                    "but is not marked network, ray or cluster")
    target = Target.current()
    pins = _runtime_requirements(Scope(Survey.assumed(target), target))
    marker = HOME / ".complete"
    if not marker.exists():
        tmp = Path(tempfile.mkdtemp(prefix=HOME.name + ".", dir=HOME.parent))
        tool = tmp / "tool.txt"
        tool.write_text("\n".join(tool_lock().hashed_lines()) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        for args in (pins, ["--require-hashes", "-r", str(tool)]):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--only-binary", ":all:", "--dest", str(tmp), *args],
                           check=True, env=env)
        tool.unlink()
        (tmp / ".complete").write_text("\n".join(pins))
        if not marker.exists():
            shutil.rmtree(HOME, ignore_errors=True)  # a download cut short
            os.replace(tmp, HOME)
    return sorted(HOME.glob("*.whl"))
