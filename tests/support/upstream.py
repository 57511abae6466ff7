"""The connected side of the mirror tests: an upstream index and a hub with an operator.

The index stands in for PyPI (support.index: PEP 691/658/700, Range requests, a request
log): ``alpha`` (needs ``beta``), ``beta`` and ``gamma`` (1 MB of incompressible data,
so a download can be cut half-way), plus the real wheels a bare node needs
(support.wheels). The operator ``mirrorop`` requires alpha and gamma.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .index import Index, operator_wheel, serve_index
from .wheels import node_wheels

OPERATOR = "mirrorop"
BIG = "gamma-0.5-py3-none-any.whl"


@contextmanager
def upstream(root: Path) -> Iterator[Index]:
    """The upstream index, served while the block runs."""
    with serve_index(root) as index:
        index.wheel("alpha", "1.0", ["beta>=1"])
        index.wheel("beta", "2.0")
        index.wheel("gamma", "0.5", modules={"gamma/__init__.py": "",
                                              "gamma/blob.py": f"B = {os.urandom(1 << 20)!r}\n"})
        for wheel in node_wheels():
            index.add(wheel)
        yield index


def operator(folder: Path) -> Path:
    """The test operator's wheel (a valid operator: entry point, plugin, register())."""
    return operator_wheel(folder, OPERATOR, "0.1", ["alpha", "gamma"])


def connected_env(url: str, token: str, index: Index, cache: Path) -> dict[str, str]:
    """A connected machine's settings: the hub, and the upstream index as pip's index."""
    return {**os.environ, "HUB_URL": url, "HUB_TOKEN": token, "PIP_INDEX_URL": index.simple,
            "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "", "HUB_CACHE_DIR": str(cache),
            "HUB_CONFIG": str(cache / "none")}


def hub(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m hub ARGS` in ``env``."""
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
