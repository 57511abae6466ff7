"""An air-gapped machine in a test: pip and uv configured for an index that is down.

Everything a user's pip and uv would read (issue #14, "Done when"): the index, extra
index and find-links variables and config files, all pointing at a loopback port nothing
listens on (a connection there is refused at once), so any install or lock that does not
come from the hub alone fails instead of quietly reaching PyPI or /opt/wheels.
"""

from __future__ import annotations

from pathlib import Path

from .net import free_port


def dead_index_env(folder: Path) -> dict[str, str]:
    """pip's and uv's settings pointing at a dead local port (no PyPI, no find-links).

    Every way they take a source is covered: the index, extra index and find-links
    variables, an explicit config file of each (``PIP_CONFIG_FILE``, ``UV_CONFIG_FILE``)
    and the user-level ones (``XDG_CONFIG_HOME``): with PIP_CONFIG_FILE set, pip skips
    ~/.config/pip/pip.conf, which on the test machines adds find-links=/opt/wheels and
    file:// extra indexes.
    """
    dead = f"http://127.0.0.1:{free_port()}"
    index, extra, links = f"{dead}/simple/", f"{dead}/extra/", f"{dead}/links/"
    pip_conf = (f"[global]\nindex-url = {index}\nextra-index-url = {extra}\n"
                f"find-links = {links}\n")
    uv_toml = (f'index-url = "{index}"\nextra-index-url = ["{extra}"]\n'
               f'find-links = ["{links}"]\n')
    uv_toml += "\n[pip]\n" + uv_toml
    for path, text in {"pip.conf": pip_conf, "pip/pip.conf": pip_conf, "uv.toml": uv_toml,
                       "uv/uv.toml": uv_toml}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return {"PIP_INDEX_URL": index, "PIP_EXTRA_INDEX_URL": extra, "PIP_FIND_LINKS": links,
            "PIP_CONFIG_FILE": str(folder / "pip.conf"),
            "UV_INDEX_URL": index, "UV_DEFAULT_INDEX": index, "UV_INDEX": extra,
            "UV_EXTRA_INDEX_URL": extra, "UV_FIND_LINKS": links,
            "UV_CONFIG_FILE": str(folder / "uv.toml"), "XDG_CONFIG_HOME": str(folder)}

