"""An air-gapped machine in a test: pip and uv configured for an index that is down.

The variables a user's pip and uv would read (issue #14, "Done when"): the index, the
extra find-links, pip's config file, uv's default index, all pointing at a loopback port
nothing listens on (a connection there is refused at once), so any install or lock that
does not come from the hub fails instead of quietly reaching PyPI or /opt/wheels.
"""

from __future__ import annotations

from pathlib import Path

from .net import free_port


def dead_index_env(folder: Path) -> dict[str, str]:
    """pip's and uv's settings pointing at a dead local port (no PyPI, no find-links)."""
    dead = f"http://127.0.0.1:{free_port()}/simple/"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "pip.conf"
    config.write_text(f"[global]\nindex-url = {dead}\n")
    return {"PIP_INDEX_URL": dead, "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "",
            "PIP_CONFIG_FILE": str(config), "UV_INDEX_URL": dead, "UV_DEFAULT_INDEX": dead}
