"""The JSON API (health, search, project info, yank/unyank); the pages are in pages/."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.app import InProcessHub
from support.crafted import wheel_files, write_wheel


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]
        ) -> Iterator[InProcessHub]:
    """basic 1.0.0 and heavy 0.3.0 (built), and a crafted opshub-demo 1.0 and 2.0: one hub
    for the module (the yank tests put back what they change)."""
    folder = tmp_path_factory.mktemp("api")
    with InProcessHub(folder / "storage") as server:
        for wheel in (wheels["basic"], wheels["heavy"]):
            assert server.upload(wheel).ok
        for version in ("1.0", "2.0"):
            wheel = write_wheel(folder, wheel_files(version=version, Keywords="vision,Embedding",
                                                    **{"Requires-Dist": "numpy>=1.20"}))
            assert server.upload(wheel).ok
        yield server


def _get(server: InProcessHub, path: str) -> requests.Response:
    return server.session.get(server.url + path, timeout=10)


def _post(server: InProcessHub, path: str, token: str | None = None, **kwargs
          ) -> requests.Response:
    auth = ("__token__", token) if token else None
    return server.session.post(server.url + path, auth=auth, timeout=10, **kwargs)


def test_health(hub: InProcessHub) -> None:
    health = _get(hub, "/api/health").json()
    assert health["status"] == "ok" and health["projects"] == 3 and health["version"]


@pytest.mark.parametrize("query, names", [
    ("", ["opshub-demo", "opshub-test-basic", "opshub-test-heavy"]),
    ("heavy", ["opshub-test-heavy"]),  # name
    ("TORCH", ["opshub-test-heavy"]),  # summary, any case
    ("embedding", ["opshub-demo"]),  # keyword
    ("running-sum", ["opshub-test-basic"]),  # operator name
    ("sum", ["opshub-test-basic", "opshub-test-heavy"]),
    ("test basic", ["opshub-test-basic"]),  # every word must match
    ("nothing-like-this", []),
])
def test_search(hub: InProcessHub, query: str, names: list[str]) -> None:
    data = hub.session.get(hub.url + "/api/search", params={"q": query}, timeout=10).json()
    assert data["query"] == query and [r["name"] for r in data["results"]] == names


def test_search_result_shape(hub: InProcessHub) -> None:
    [result] = _get(hub, "/api/search?q=running").json()["results"]
    assert result == {"name": "opshub-test-basic", "version": "1.0.0", "summary": result["summary"],
                      "keywords": [], "operators": ["add-one", "multiply", "running-sum",
                                                    "shared-name"]}


def test_project_info(hub: InProcessHub) -> None:
    info = _get(hub, "/api/projects/Opshub_Demo?readme=latest").json()
    assert info["name"] == "opshub-demo" and info["latest"] == "2.0"
    assert [v["version"] for v in info["versions"]] == ["2.0", "1.0"]
    newest = info["versions"][0]
    assert newest["readme"] == "The README card." and newest["summary"] == "A crafted operator."
    assert newest["keywords"] == ["vision", "Embedding"]
    assert newest["requires_dist"] == ["numpy>=1.20"] and newest["requires_python"] is None
    assert (newest["yanked"], newest["yanked_reason"]) == (False, None)
    assert [op["name"] for op in newest["operators"]] == ["opshub-demo"]
    [file] = newest["files"]
    content = hub.session.get(file["url"], timeout=10).content
    assert hashlib.sha256(content).hexdigest() == file["sha256"] and len(content) == file["size"]


def test_unknown_project_is_a_json_404(hub: InProcessHub) -> None:
    response = _get(hub, "/api/projects/nope")
    assert response.status_code == 404 and "'nope' is not on this hub" in response.json()["error"]
    assert _get(hub, "/api/nothing").json() == {"error": "Not Found"}


def test_yank_and_unyank(hub: InProcessHub) -> None:
    path = "/api/projects/opshub-demo/2.0"
    yanked = _post(hub, path + "/yank", hub.token, json={"reason": "wrong output"})
    assert yanked.json() == {"name": "opshub-demo", "version": "2.0", "yanked": True,
                             "yanked_reason": "wrong output"}
    info = _get(hub, "/api/projects/opshub-demo").json()
    assert info["latest"] == "1.0" and info["versions"][0]["yanked_reason"] == "wrong output"
    assert _get(hub, "/api/search?q=demo").json()["results"][0]["version"] == "1.0"
    assert _post(hub, path + "/unyank", hub.token).json()["yanked"] is False
    assert _get(hub, "/api/projects/opshub-demo").json()["latest"] == "2.0"


@pytest.mark.parametrize("path, token, body, status, message", [
    ("/api/projects/opshub-demo/2.0/yank", None, {}, 401, "authentication required"),
    ("/api/projects/opshub-demo/2.0/yank", "ohub_wrong", {}, 403, "invalid credentials"),
    ("/api/projects/opshub-demo/9.9/yank", "TOKEN", {}, 404, "opshub-demo 9.9 is not"),
    ("/api/projects/opshub-demo/not!a!version/yank", "TOKEN", {}, 400, "not a valid version"),
    ("/api/projects/opshub-demo/2.0/yank", "TOKEN", {"reason": 3}, 400, '{"reason": "why"}'),
])
def test_yank_errors(hub: InProcessHub, path, token, body, status, message) -> None:
    response = _post(hub, path, hub.token if token == "TOKEN" else token, json=body)
    assert response.status_code == status and message in response.json()["error"]
    assert _get(hub, "/api/projects/opshub-demo").json()["versions"][0]["yanked"] is False
