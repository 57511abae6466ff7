"""Section 7: the web pages with 200 projects and a 140 MB README, against the JSON search API.

A real `hub serve` (free port, temp storage) gets 200 crafted operator projects uploaded
(each with a 2 kB Markdown README, every tenth with a second, yanked version) and one
project whose README and METADATA are then set to 140 MB in the database, as the padded
wheel of issue 11 stored them before the METADATA cap. Each page is fetched over one
keep-alive connection; the baseline is ``GET /api/search?q=`` (every project, JSON).

    .venv/bin/python benchmarks/bench_pages.py [--quick]
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _goals as goals
import requests
from _common import ROOT, Row, Section, row, target, timed

sys.path.insert(0, str(ROOT / "tests"))
from support.app import upload  # the tests' raw uploads and crafted wheels
from support.crafted import wheel_files, write_wheel
from support.hub_server import HubServer, start_hub_server

from hub.server import Storage, create_token

BASE = "JSON search API, every project (GET /api/search?q=)"
BIG = "opshub-bench-big"
BIG_README_MB = 140  # --quick: 14
README = (ROOT / "operators" / "image-embed" / "README.md").read_text()


def run(quick: bool, network: bool) -> Section:
    projects, repeat, big_mb = (20, 5, BIG_README_MB // 10) if quick else (200, 30, BIG_README_MB)
    work = Path(tempfile.mkdtemp(prefix="ohp-", dir="/tmp"))
    token = create_token(Storage(work / "storage"))  # in-process, not `hub token create`
    server = start_hub_server(work / "storage", token=token)
    try:
        _publish(server, work, projects, big_mb * 1000 * 1000)
        rows = _measure(server, projects, repeat)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    pages = [r for r in rows if r["name"] != BASE and not r["name"].startswith("5 ")]
    slowest = max(pages, key=lambda r: r["value"])
    return Section(title=f"Web pages, {projects} projects and a {big_mb} MB README", baseline=BASE,
                   rows=rows, targets=[target(goals.PAGES, f"{slowest['value']:.1f} ms "
                                                           f"({slowest['name']})",
                                              slowest["value"] < 50)],
                   notes=[" ".join(__doc__.split("\n\n")[1].split())])


def _name(i: int) -> str:
    return f"opshub-bench-{i:03d}"


def _publish(server: HubServer, work: Path, projects: int, big_readme: int) -> None:
    """The projects over HTTP (8 uploads at once), then the big README behind its back."""
    wheels = [_wheel(work, _name(i), "1.0") for i in range(projects)]
    wheels += [_wheel(work, _name(i), "0.9") for i in range(0, projects, 10)]
    wheels.append(_wheel(work, BIG, "1.0"))
    with ThreadPoolExecutor(8) as pool:
        failed = [r.text for r in pool.map(lambda w: upload(server.url, server.token, w), wheels)
                  if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} uploads failed: {failed[0]}")
    for i in range(0, projects, 10):
        requests.post(f"{server.url}/api/projects/{_name(i)}/0.9/yank", timeout=30,
                      auth=("__token__", server.token), json={"reason": "superseded"})
    with sqlite3.connect(server.storage / "hub.sqlite3") as db:
        db.execute("UPDATE files SET readme = printf('%.*c', ?, 'x') WHERE project = ?",
                   (big_readme, BIG))
        db.execute("UPDATE files SET metadata = CAST(readme AS BLOB) WHERE project = ?", (BIG,))


def _wheel(work: Path, name: str, version: str) -> Path:
    files = wheel_files(name, version, Keywords="image,embedding,bench",
                        Summary=f"{name}: a benchmark operator that embeds images.",
                        **{"Description-Content-Type": "text/markdown",
                           "Requires-Dist": "numpy>=1.24"})
    metadata = next(m for m in files if m.endswith("/METADATA"))
    files[metadata] = files[metadata].replace(b"The README card.", README.encode())
    folder = work / "wheels"
    folder.mkdir(exist_ok=True)
    return write_wheel(folder, files)


def _measure(server: HubServer, projects: int, repeat: int) -> list[Row]:
    session = requests.Session()

    def get(path: str) -> Callable[[], object]:
        def fetch() -> None:
            response = session.get(server.url + path, timeout=60)
            if response.status_code != 200 or len(response.content) > 1_000_000:
                raise RuntimeError(f"GET {path}: {response.status_code}, "
                                   f"{len(response.content)} bytes")
        return fetch

    first_views = iter(range(projects))  # each a project whose README is not rendered yet
    cases: dict[str, Callable[[], object]] = {
        BASE: get("/api/search?q="),
        f"home page ({projects + 1} cards)": get("/"),
        "search page, 'embed' (every project matches)": get("/search?q=embed"),
        "search page, a word no project has": get("/search?q=nothing-like-this"),
        "project page (README rendered before)": get(f"/project/{_name(1)}/"),
        "project page, first view (README rendered now)":
            lambda: get(f"/project/{_name(next(first_views))}/")(),
        "project page of the big README": get(f"/project/{BIG}/"),
        "a yanked version's page": get(f"/project/{_name(0)}/0.9/"),
    }
    medians = {name: _median_ms(fetch, repeat) for name, fetch in cases.items()}
    medians["5 home pages at once (wall time)"] = _median_ms(lambda: _at_once(server, 5), repeat)
    _check_search_matches(server, session)
    return [row(name, ms, "ms", medians[BASE], f"median of {repeat}")
            for name, ms in medians.items()]


def _median_ms(fetch: Callable[[], object], repeat: int) -> float:
    fetch()  # warm: connection, templates, the thread pool
    return statistics.median(timed(fetch) for _ in range(repeat)) * 1000


def _at_once(server: HubServer, count: int) -> None:
    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(lambda _: requests.get(server.url + "/", timeout=60).status_code,
                                 range(count)))
    if statuses != [200] * count:
        raise RuntimeError(f"home pages at once answered {statuses}")


def _check_search_matches(server: HubServer, session: requests.Session) -> None:
    """The search page shows the API's results (the figures are for the same work)."""
    api = session.get(server.url + "/api/search?q=embed", timeout=60).json()["results"]
    page = session.get(server.url + "/search?q=embed", timeout=60).text
    cards = page.count('<li class="card')
    if cards != len(api):
        raise RuntimeError(f"the search page shows {cards} cards, the API {len(api)} results")


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv, network=False), indent=2))
