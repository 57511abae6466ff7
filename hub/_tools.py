"""External tools the client runs: uv (or pip, or build) in subprocesses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

from ._exceptions import CommandFailed


def find_uv() -> str | None:
    """The uv binary: the one installed with opshub, else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def run(
    what: str, command: Sequence[str], *, echo: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; :class:`CommandFailed` with its stderr if it fails.

    With ``echo`` its output (uv and pip report progress there) is also copied
    live to our stderr, so a long install is never silent; stdout stays clean.
    ``env``: the command's environment (default: this process's).
    """
    environ = None if env is None else dict(env)
    if echo:
        out = _run_echoing(list(command), environ)
    else:
        out = subprocess.run(list(command), capture_output=True, check=False, text=True,
                             env=environ)
    if out.returncode != 0:
        raise CommandFailed(what, command, out.returncode, out.stderr or out.stdout)
    return out


def _run_echoing(command: list[str], env: dict[str, str] | None
                 ) -> subprocess.CompletedProcess[str]:
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stderr.write(line)
            lines.append(line)
    return subprocess.CompletedProcess(command, process.returncode, "", "".join(lines))
