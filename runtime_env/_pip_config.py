"""pip's own package sources, read as pip reads them (issue #10 item 2).

pip merges its config files (global, user, site and ``PIP_CONFIG_FILE``; ``[global]``
then ``[install]``) under its ``PIP_*`` variables; ``PIP_CONFIG_FILE=os.devnull`` turns the
files off and ``PIP_NO_INDEX`` every index. Rather than copy those rules, the driver's
own pip answers, through the option parser `pip install` itself runs (the call pip-tools
makes too), in a subprocess given the planner's environment. Without pip only the
variables apply: there is no pip to read the files.

The answer becomes explicit options (:class:`~runtime_env.Sources`), and every tool then
runs with its own configuration off (:func:`installer_env`, uv's and pip-tools'
``--no-config``): the sources in a lock's cache key are all any tool used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from hub import ConfigError

_PYPI = "https://pypi.org/simple"
_ASK_PIP = """
import json
try:
    from pip._internal.commands import create_command
except ImportError:  # no pip in this environment
    print("null")
    raise SystemExit(0) from None
options, _ = create_command("install").parse_args([])
print(json.dumps([options.index_url, options.extra_index_urls, options.find_links,
                  bool(options.no_index)]))
"""


@dataclass(frozen=True)
class PipSources:
    """What `pip install` would search: ``index_url`` None for pip's default (PyPI)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    @classmethod
    def read(cls, env: Mapping[str, str], python: str = sys.executable) -> PipSources:
        """pip's answer in ``env`` (its variables and the config files they point to)."""
        try:
            done = subprocess.run([python, "-c", _ASK_PIP], capture_output=True, text=True,
                                  env=dict(env), timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"could not ask pip for its configuration: {exc}") from None
        if done.returncode != 0:
            lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
            raise ConfigError(f"pip cannot read its configuration ({' '.join(lines[-2:])}); "
                              "fix the file (`pip config debug` lists them) or PIP_CONFIG_FILE")
        found = json.loads(done.stdout)
        if found is None:
            return cls.from_variables(env)
        index, extras, links, no_index = found
        return cls(None if index.rstrip("/") == _PYPI else index, tuple(extras), tuple(links),
                   no_index)

    @classmethod
    def from_variables(cls, env: Mapping[str, str]) -> PipSources:
        """pip's variables alone (whitespace-separated lists, as pip splits them)."""
        return cls(env.get("PIP_INDEX_URL") or None,
                   tuple(env.get("PIP_EXTRA_INDEX_URL", "").split()),
                   tuple(env.get("PIP_FIND_LINKS", "").split()),
                   env.get("PIP_NO_INDEX", "").strip().lower() in ("1", "y", "yes", "t",
                                                                   "true", "on"))
