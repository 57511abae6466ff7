"""HubClient through its injected session: the real hub app in-process (no socket), and a
fake session for what a real hub never answers (transport failures, wrong shapes).

Each failure is one HubError line naming the URL, never a requests exception.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from support.app import InProcessHub

from hub import HubConnectionError, HubResponseError, ProjectNotFound
from hub.client import HubClient

URL = "http://hub.test"


@pytest.fixture
def in_process(hub_app: InProcessHub) -> HubClient:
    """A client of the hub app, with no token."""
    return HubClient(hub_app.url, session=hub_app.session)


def test_answers_of_the_real_app(in_process: HubClient, hub_app: InProcessHub,
                                 wheels: Any) -> None:
    assert in_process.health()["status"] == "ok" and in_process.search("anything") == []
    with pytest.raises(ProjectNotFound, match=f"no project 'nope' on the hub at {hub_app.url}"):
        in_process.project("nope")
    writer = HubClient(hub_app.url, hub_app.token, session=hub_app.session)
    assert writer.upload(wheels["basic"], progress=False)
    assert in_process.project("opshub-test-basic")["latest"] == "1.0.0"
    assert in_process.projects() == ["opshub-test-basic"]


def test_a_write_without_a_token_names_the_fix(in_process: HubClient, wheels: Any) -> None:
    with pytest.raises(HubResponseError, match="set HUB_TOKEN .* `hub token create`") as error:
        in_process.upload(wheels["basic"], progress=False)
    assert error.value.status == 401


def test_a_republished_name_with_other_bytes_says_skip_existing(
        hub_app: InProcessHub, make_wheel: Any) -> None:
    writer = HubClient(hub_app.url, hub_app.token, session=hub_app.session)
    wheel = make_wheel()
    assert writer.upload(wheel, progress=False)
    other = make_wheel(Summary="other bytes")  # the same filename
    with pytest.raises(HubResponseError, match="pass --skip-existing") as error:
        writer.upload(other, progress=False)
    assert error.value.status == 409
    assert writer.upload(other, progress=False, skip_existing=True) is False


class FakeSession:
    """Stands in for ``requests.Session``: each request gets the next canned answer (a
    response, or an exception to raise); the requests asked are kept."""

    def __init__(self, *answers: requests.Response | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        self.asked.append((method, url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def respond(status: int, body: object, content_type: str = "application/json"
            ) -> requests.Response:
    """A response with ``body`` (JSON unless it is bytes)."""
    response = requests.Response()
    response.status_code = status
    response.reason = "Whatever"
    response.headers["Content-Type"] = content_type
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return response


def client(*answers: requests.Response | Exception) -> HubClient:
    return HubClient(URL, session=FakeSession(*answers))  # type: ignore[arg-type]


@pytest.mark.parametrize(("raised", "message"), [
    (requests.ConnectionError("refused"),
     f"no hub at {URL} — start one with `hub serve` or set HUB_URL"),
    (requests.ReadTimeout("read timed out"),
     f"request to {URL}/api/health failed: ReadTimeout: read timed out — check HUB_URL"),
    (requests.TooManyRedirects("30 redirects"),
     f"request to {URL}/api/health failed: TooManyRedirects: 30 redirects — check HUB_URL"),
])
def test_transport_failures_are_one_connection_error(raised: Exception, message: str) -> None:
    with pytest.raises(HubConnectionError) as error:
        client(raised).health()
    assert str(error.value) == message and error.value.url == URL


@pytest.mark.parametrize(("answer", "message"), [
    (respond(500, {"error": "the disk is full"}),
     f"GET {URL}/api/health failed with 500: the disk is full"),
    (respond(502, b"<html>\nBad gateway</html>", "text/html"),
     f"GET {URL}/api/health failed with 502: <html>"),
    (respond(503, b""), f"GET {URL}/api/health failed with 503: Whatever"),
    (respond(200, b"<html>a proxy's page</html>", "text/html"),
     f"{URL}/api/health answered 200 without a JSON object — is HUB_URL an opshub hub?"),
    (respond(200, ["a", "list"]),
     f"{URL}/api/health answered 200 without a JSON object — is HUB_URL an opshub hub?"),
    (respond(200, {"status": 1}),
     f"{URL}/api/health answered JSON of an unexpected shape ('status' is missing or not a "
     "str) — is HUB_URL an opshub hub of a compatible version?"),
])
def test_error_statuses_and_wrong_answers_are_one_response_error(
        answer: requests.Response, message: str) -> None:
    with pytest.raises(HubResponseError) as error:
        client(answer).health()
    assert str(error.value) == message and error.value.status == answer.status_code


SEARCH_RESULT = {"name": "op", "version": "1.0", "operators": ["op"]}
RELEASE = {"version": "1.0", "yanked": False, "requires_dist": [], "operators": [{"name": "op"}],
           "files": [{"filename": "op-1.0-py3-none-any.whl", "url": "/f", "sha256": "0" * 64}]}


@pytest.mark.parametrize(("call", "body", "wrong"), [
    (lambda c: c.search("op"), {"results": {"op": 1}}, "'results' is missing or not a list"),
    (lambda c: c.search("op"), {"results": [{**SEARCH_RESULT, "operators": "op"}]},
     "'operators' is missing or not a list"),
    (lambda c: c.project("op"), {"name": "op", "latest": "1.0"},
     "'versions' is missing or not a list"),
    (lambda c: c.project("op"), {"name": "op", "latest": "1.0", "versions": [
        {**RELEASE, "files": [{"filename": "op-1.0-py3-none-any.whl", "url": "/f"}]}]},
     "'sha256' is missing or not a str"),
    (lambda c: c.project("op"), {"name": "op", "latest": "1.0", "versions": [
        {**RELEASE, "operators": [{"title": "op"}]}]}, "'name' is missing or not a str"),
    (lambda c: c.yank("op", "1.0"), {"name": "op", "version": "1.0"},
     "'yanked' is missing or not a bool"),
])
def test_every_answer_is_checked_before_use(call: Any, body: object, wrong: str) -> None:
    with pytest.raises(HubResponseError, match="unexpected shape") as error:
        call(client(respond(200, body)))
    assert f"({wrong})" in str(error.value)


def test_a_well_formed_answer_passes_the_checks() -> None:
    project = {"name": "op", "latest": "1.0", "versions": [RELEASE]}
    fake = FakeSession(respond(200, {"results": [SEARCH_RESULT]}), respond(200, project))
    hub = HubClient(URL, session=fake)  # type: ignore[arg-type]
    assert hub.search("op") == [SEARCH_RESULT] and hub.project("op") == project
    assert fake.asked == [("GET", f"{URL}/api/search"), ("GET", f"{URL}/api/projects/op")]
