"""A hub with published operators for the page tests and screenshots, and a hostile README.

:func:`published_hub` starts a real `hub serve`, publishes the first-party operators
with `hub publish` as a user would, and optionally ``opshub-evil`` 1.0 and 1.1: a
project whose every free-text field (README, summary, keywords, operator description,
inputs, outputs, yank reason) tries to run script; 1.0 is yanked.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

from hub.server import Storage, create_token

from .hub_server import HUB_CMD, HubServer, start_hub_server
from .wheelhouse import FIRST_PARTY

EVIL = "opshub-evil"
YANK_REASON = "wrong output <script>window.__pwned = 'reason'</script>"

# Each line sets window.__pwned if it ever runs; none may.
HOSTILE_README = """# opshub-evil

A README that tries everything.

<script>window.__pwned = "script tag"; alert("script")</script>

<img src="x" onerror="window.__pwned = 'onerror'">

<svg onload="window.__pwned = 'svg'"></svg>

<iframe src="javascript:window.__pwned='iframe'"></iframe>

<a href="javascript:window.__pwned='raw link'">raw link</a>

[markdown link](javascript:window.__pwned='md') and [mixed case](JaVaScRiPt:window.__pwned='case')
and [tab entity](java&#x09;script:window.__pwned='entity') and
[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) and
[vbscript](vbscript:msgbox(1)) and <javascript:window.__pwned='autolink'> and [a reference][evil].

![data image](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIj48L3N2Zz4=)

[evil]: javascript:window.__pwned='reference'

A [safe link](https://example.org/docs) stays, and so does this table:

| field | safe |
|---|---|
| README | yes |
"""

_PLUGIN = '''import hub


@hub.hookimpl
def register_operators(register):
    register("evil-op", "opshub_evil.impl:run", description="<b onmouseover=x>{tag}</b>",
             inputs=["<img src=x onerror=\\"window.__pwned = 'inputs'\\">"],
             outputs=["<script>window.__pwned = 'outputs'</script>"])
'''


def hostile_wheel(folder: Path, version: str) -> Path:
    """``opshub-evil`` VERSION: a valid operator wheel with script in every free-text field."""
    dist_info = f"opshub_evil-{version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\nName: opshub-evil\nVersion: " + version + "\n"
        "Summary: <img src=x onerror=\"window.__pwned = 'summary'\">\n"
        "Keywords: <script>window.__pwned='keyword'</script>,evil\n"
        "Description-Content-Type: text/markdown\n\n" + HOSTILE_README
    )
    members = {
        "opshub_evil/__init__.py": "",
        "opshub_evil/plugin.py": _PLUGIN.replace("{tag}", "<script>x</script>"),
        "opshub_evil/impl.py": "def run(x):\n    return x\n",
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": "[opshub.operators]\nevil-op = opshub_evil.plugin\n",
        f"{dist_info}/RECORD": "",
    }
    path = folder / f"opshub_evil-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def hub_cli(server: HubServer, home: Path, *args: str) -> str:
    """Run `hub ARGS` against ``server`` with its own config, data and cache dirs."""
    env = {**os.environ, "HUB_URL": server.url, "HUB_TOKEN": server.token,
           "HUB_CONFIG": str(home / "config.toml"), "HUB_DATA_DIR": str(home / "data"),
           "HUB_CACHE_DIR": str(home / "cache")}
    done = subprocess.run([*HUB_CMD, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@contextmanager
def published_hub(folder: Path, hostile: bool = True, first_party: Sequence[Path] = ()
                  ) -> Iterator[HubServer]:
    """A `hub serve` on ``folder/storage`` with the first-party operators published (and
    ``opshub-evil`` 1.0, yanked, and 1.1 when ``hostile``); stopped on exit.

    ``first_party``: their wheels, already built (the tests' wheelhouse); by default
    `hub publish` builds them from operators/ as a user would."""
    storage = folder / "storage"
    server = start_hub_server(storage, token=create_token(Storage(storage)))  # in-process: 1 s less
    projects = first_party or list(FIRST_PARTY.values())
    try:
        hub_cli(server, folder, "publish", *map(str, projects))
        if hostile:
            wheels = [hostile_wheel(folder, v) for v in ("1.0", "1.1")]
            hub_cli(server, folder, "publish", *map(str, wheels))
            hub_cli(server, folder, "yank", EVIL, "1.0", "--reason", YANK_REASON)
        yield server
    finally:
        server.stop()



class Elements(HTMLParser):
    """Every element a browser would build from some HTML, with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No script, frame or object element, no event-handler or style attribute, and no
    URL with a scheme other than http, https and mailto (relative URLs are fine)."""
    for tag, attrs in Elements(html).found:
        assert tag not in {"script", "iframe", "svg", "object", "embed", "style"}, (tag, attrs)
        assert not [a for a in attrs if a.startswith("on") or a == "style"], (tag, attrs)
        for url in (attrs.get("href"), attrs.get("src"), attrs.get("action")):
            scheme = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):", url or "")
            assert scheme is None or scheme[1].lower() in {"http", "https", "mailto"}, url
