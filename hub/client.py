"""HubClient: the hub's JSON API and legacy upload API over requests.

>>> client = HubClient.from_settings()                     # doctest: +SKIP
>>> [r["name"] for r in client.search("embed")]            # doctest: +SKIP
['image-embed', 'text-embed']

requests exceptions never leave this module: a hub that cannot be reached
raises :class:`HubConnectionError`, an error status :class:`HubResponseError`
(:class:`ProjectNotFound` for an unknown project), and so does JSON of a shape
the client does not expect, each one line naming the URL.

With no token configured, the client finds the local hub `hub serve` recorded for
the URL's port (:mod:`hub._local_hub`) and sends its token only after the server
proved it is that hub.
"""

from __future__ import annotations

import base64
import hmac
import io
import ipaddress
from collections.abc import Callable, Mapping
from email.message import Message
from email.parser import Parser
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import quote, urljoin, urlsplit

import requests

from . import _local_hub
from ._config import Settings, load_settings
from ._exceptions import HubConnectionError, HubResponseError, ProjectNotFound
from ._operator import normalize_name

if TYPE_CHECKING:
    from ._dist import WheelInfo

WheelRank = Callable[[str], "int | None"]  # filename -> rank for a target (0 best), None: unfit
TIMEOUT = 30.0  # seconds to connect and between bytes; uploads stream, so no total limit
# The fields of the JSON API that clients rely on (added fields are fine).
_PROJECT = {"name": str, "latest": str, "versions": list}
_VERSION = {"version": str, "yanked": bool, "requires_dist": list, "operators": list,
            "files": list}
_FILE = {"filename": str, "url": str, "sha256": str}
_OPERATOR = {"name": str}
_SEARCH_RESULT = {"name": str, "version": str, "operators": list}
_YANKED = {"name": str, "version": str, "yanked": bool}
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

# Core-metadata fields that may repeat, and their legacy-upload form names (as twine sends).
_MULTI = {
    "classifier": "classifiers", "project-url": "project_urls", "platform": "platform",
    "supported-platform": "supported_platform", "requires-dist": "requires_dist",
    "provides-dist": "provides_dist", "obsoletes-dist": "obsoletes_dist",
    "requires-external": "requires_external", "provides-extra": "provides_extra",
    "dynamic": "dynamic", "license-file": "license_file",
}


class Readable(Protocol):
    """A body requests streams (a file, or one wrapped to count progress)."""

    def read(self, n: int = -1, /) -> bytes: ...


class HubClient:
    """A client of one hub server.

    >>> client = HubClient("http://127.0.0.1:8470", token="...")   # doctest: +SKIP
    >>> client.health()["status"]                                  # doctest: +SKIP
    'ok'
    """

    def __init__(
        self, url: str, token: str | None = None, session: requests.Session | None = None,
        local: _local_hub.LocalHub | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.local = local  # its token is sent only once the server proved to be that hub
        self.session = session or requests.Session()
        self._local_proven = False

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> HubClient:
        """A client for HUB_URL, with HUB_TOKEN or, on a loopback hub, its local token."""
        settings = settings or load_settings()
        local = None if settings.token else local_hub(settings)
        return cls(settings.url, settings.token, local=local)

    @property
    def index_url(self) -> str:
        """The hub's PEP 503 simple index."""
        return self.url + "/simple/"

    @property
    def mirror_index_url(self) -> str:
        """The index of the hub's mirror of third-party wheels (issue #14)."""
        return self.url + "/mirror/simple/"

    def mirrored(self, project: str) -> list[dict[str, Any]]:
        """The mirror's files of a project (PEP 691 entries, ``url`` made absolute); []
        when it mirrors none."""
        path = f"/mirror/simple/{quote(normalize_name(project))}/"
        try:
            data = self._json("GET", path, headers={"Accept": _SIMPLE_JSON})
        except HubResponseError as exc:
            if exc.status == 404:
                return []
            raise
        files = self._expect(data, {"files": list}, path)["files"]
        checked = [self._expect(f, {"filename": str, "url": str, "hashes": dict}, path)
                   for f in files]
        return [{**f, "url": urljoin(self.url + path, f["url"])} for f in checked]

    def mirror_upload(self, source: Readable, filename: str, project: str, sha256: str,
                      upload_time: str | None = None) -> bool:
        """PUT a third-party wheel into the mirror, its sha256 checked by the hub as it
        streams in; True when stored, False when the hub had those bytes already."""
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        headers = {"Content-Digest": f"sha-256=:{digest}:",
                   "Content-Type": "application/octet-stream"}
        if upload_time:
            headers["X-Upload-Time"] = upload_time
        path = f"/mirror/files/{quote(normalize_name(project))}/{quote(filename)}"
        response = self._request("PUT", path, data=source, headers=headers, auth=self._auth())
        return response.status_code == 201

    def import_bundle(self, source: Readable) -> dict[str, Any]:
        """POST a bundle (`hub bundle`); the hub verifies it whole and imports all or none."""
        answer = self._json("POST", "/api/import", data=source, auth=self._auth(),
                            headers={"Content-Type": "application/x-tar"})
        return self._expect(answer, {"operators": int, "mirrored": int, "already": int,
                                     "bytes": int}, "/api/import")

    def open_file(self, url: str) -> IO[bytes]:
        """A hub file (an absolute URL on this hub) as a stream, for `hub bundle`."""
        if not url.startswith(self.url + "/"):
            raise HubResponseError(f"{url} is not a file of the hub at {self.url}", self.url, 0)
        response = self._request("GET", url[len(self.url):], stream=True)
        return cast("IO[bytes]", _Stream(response, url))

    def health(self) -> dict[str, Any]:
        """The server's status, version and number of projects."""
        return self._expect(self._json("GET", "/api/health"), {"status": str}, "/api/health")

    def search(self, query: str) -> list[dict[str, Any]]:
        """Projects whose name, summary or keywords match ``query``."""
        data = self._expect(self._json("GET", "/api/search", params={"q": query}),
                            {"results": list}, "/api/search")
        results: list[dict[str, Any]] = data["results"]
        for result in results:
            self._expect(result, _SEARCH_RESULT, "/api/search")
        return results

    def projects(self) -> list[str]:
        """The normalized name of every project on the hub (its PEP 691 index)."""
        data = self._expect(self._json("GET", "/simple/", headers={"Accept": _SIMPLE_JSON}),
                            {"projects": list}, "/simple/")
        return [self._expect(p, {"name": str}, "/simple/")["name"] for p in data["projects"]]

    def project(self, name: str, readme: str | None = None) -> dict[str, Any]:
        """Everything the hub knows about a project, with the README of version ``readme``
        ("latest" for the newest); :class:`ProjectNotFound` if nothing."""
        path = f"/api/projects/{quote(name)}"
        try:
            data = self._json("GET", path, params={"readme": readme} if readme else None)
        except HubResponseError as exc:
            if exc.status == 404:
                raise ProjectNotFound(name, self.url) from None
            raise
        for release in self._expect(data, _PROJECT, path)["versions"]:
            self._expect(release, _VERSION, path)
            for file in release["files"]:
                self._expect(file, _FILE, path)
            for operator in release["operators"]:
                self._expect(operator, _OPERATOR, path)
        return data

    def project_names(self) -> set[str]:
        """The normalized name of every project the hub serves (its PEP 691 root index)."""
        data = self._json("GET", "/simple/",
                          headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        projects = data.get("projects")
        if not isinstance(projects, list):
            raise HubResponseError(f"{self.url}/simple/ answered without a project list — is "
                                   "HUB_URL an opshub hub?", self.url, 200)
        return {normalize_name(str(p.get("name", ""))) for p in projects if isinstance(p, dict)}

    def release_wheel(self, name: str, version: str, *, rank: WheelRank | None = None,
                      target: str = "") -> dict[str, Any] | None:
        """The wheel (``filename``, ``url``, ``sha256``) of a published, not yanked version,
        or None when the hub does not serve that version: with ``rank`` the best one for
        ``target`` (HubError when none fits), else the pure-Python one if any."""
        from ._hub_operators import choose_wheel

        try:
            project = self.project(name)
        except ProjectNotFound:
            return None
        for release in project.get("versions", []):
            if release.get("version") == version and not release.get("yanked"):
                return dict(choose_wheel(release.get("files", []), project["name"], version,
                                         rank=rank, target=target))
        return None

    def yank(self, name: str, version: str, reason: str = "") -> dict[str, Any]:
        """Mark a version yanked (PEP 592): installers skip it unless pinned with ``==``."""
        return self._version_action(name, version, "yank", {"reason": reason})

    def unyank(self, name: str, version: str) -> dict[str, Any]:
        """Undo :meth:`yank`."""
        return self._version_action(name, version, "unyank", {})

    def upload(self, path: Path, *, progress: bool = True, skip_existing: bool = False,
               info: WheelInfo | None = None) -> bool:
        """Validate a wheel as the hub will (unless ``info`` is its inspection already
        made), then upload it.

        Returns False when ``skip_existing`` and the hub already has a different file of
        that name (an identical re-upload is accepted by the hub and returns True).
        """
        from ._dist import inspect_wheel

        info = info or inspect_wheel(Path(path))
        fields = upload_fields(info.metadata, info.filename, info.sha256)
        try:
            self._upload(Path(path), info.filename, fields, progress)
        except HubResponseError as exc:
            if skip_existing and _already_exists(exc):
                return False
            if _already_exists(exc):
                raise HubResponseError(
                    f"{exc} (or pass --skip-existing to keep the published file)",
                    exc.url, exc.status,
                ) from None
            raise
        return True

    # --- internals -----------------------------------------------------------------

    def _version_action(
        self, name: str, version: str, action: str, body: dict[str, str]
    ) -> dict[str, Any]:
        path = f"/api/projects/{quote(name)}/{quote(version)}/{action}"
        answer = self._json("POST", path, json=body, auth=self._auth())
        return self._expect(answer, _YANKED, path)

    def _upload(self, path: Path, filename: str, fields: list[tuple[str, str]],
                progress: bool) -> None:
        from requests_toolbelt import (  # type: ignore[import-untyped]  # it ships no types
            MultipartEncoder,
            MultipartEncoderMonitor,
        )

        from ._progress import byte_bar

        with path.open("rb") as file:
            encoder = MultipartEncoder(
                [*fields, ("content", (filename, file, "application/octet-stream"))]
            )
            with byte_bar(encoder.len, filename, progress) as bar:
                monitor = MultipartEncoderMonitor(
                    encoder, lambda m: bar.update(m.bytes_read - bar.n)
                )
                self._request("POST", "/legacy/", data=monitor, auth=self._auth(),
                              headers={"Content-Type": monitor.content_type})

    def _auth(self) -> tuple[str, str] | None:
        token = self.token or self._local_token()
        return ("__token__", token) if token else None

    def _local_token(self) -> str | None:
        token = self.local.token() if self.local else None
        if token and not self._local_proven:
            self._prove_local()
            self._local_proven = True
        return token

    def _prove_local(self) -> None:
        """Refuse to send the local token to anything but the hub that wrote it (#11)."""
        assert self.local is not None
        key, challenge = self.local.key(), _local_hub.new_challenge()
        try:
            answer = self._json("GET", _local_hub.PROOF_PATH, params={"challenge": challenge})
        except HubResponseError:
            answer = {}
        given = answer.get("proof")
        expected = _local_hub.proof(key, challenge, self.local.port) if key else ""
        if not (expected and isinstance(given, str) and hmac.compare_digest(given, expected)):
            raise HubConnectionError(
                f"not sending the local token of {self.local.storage} to {self.url}: what "
                "answers there did not prove to be the hub that wrote it (another program on "
                f"port {self.local.port}?) — start `hub serve` there, or set HUB_TOKEN to send "
                "a token on purpose", self.url)

    def _expect(self, data: Any, fields: Mapping[str, type], path: str) -> dict[str, Any]:
        """``data`` if it is an object holding ``fields`` with those types, else one line."""
        wrong = [k for k, t in fields.items() if not isinstance(data, dict)
                 or not isinstance(data.get(k), t)]
        if wrong:
            raise HubResponseError(
                f"{self.url}{path} answered JSON of an unexpected shape ({wrong[0]!r} is "
                f"missing or not a {fields[wrong[0]].__name__}) — is HUB_URL an opshub hub of "
                "a compatible version?", self.url, 200)
        result: dict[str, Any] = data
        return result

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise HubResponseError(
                f"{self.url}{path} answered {response.status_code} without a JSON object — "
                "is HUB_URL an opshub hub?", self.url, response.status_code,
            )
        return data

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.url + path
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError:
            raise HubConnectionError(
                f"no hub at {self.url} — start one with `hub serve` or set HUB_URL", self.url
            ) from None
        except requests.RequestException as exc:
            raise HubConnectionError(
                f"request to {url} failed: {type(exc).__name__}: {exc} — check HUB_URL",
                self.url,
            ) from None
        if response.status_code >= 400:
            raise HubResponseError(_error_message(response, method, url), self.url,
                                   response.status_code)
        return response


class _Stream(io.RawIOBase):
    """A streamed response read like a file; transport errors become HubConnectionError."""

    def __init__(self, response: requests.Response, url: str) -> None:
        self.response, self.url = response, url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.response.raw.read(len(buffer))
        except Exception as exc:  # noqa: BLE001 - urllib3's errors, translated at the boundary
            raise HubConnectionError(f"reading {self.url} failed: {type(exc).__name__}: "
                                     f"{exc}", self.url) from None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.response.close()
        super().close()


def local_hub(settings: Settings) -> _local_hub.LocalHub | None:
    """The hub `hub serve` recorded for HUB_URL's port on this machine (loopback URLs only)."""
    if not is_loopback(settings.url):
        return None
    return _local_hub.find(settings.data_dir, settings.url)


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def upload_fields(metadata: bytes, filename: str, sha256: str) -> list[tuple[str, str]]:
    """The legacy upload form fields for a wheel, as twine sends them."""
    # METADATA is UTF-8 (core metadata spec); BytesParser would mangle a non-ASCII README.
    message = Parser().parsestr(metadata.decode("utf-8", errors="replace"))
    pyversion = filename[: -len(".whl")].split("-")[-3]  # name-ver[-build]-PY-abi-plat
    fields = [
        (":action", "file_upload"), ("protocol_version", "1"),
        ("filetype", "bdist_wheel"), ("pyversion", pyversion),
        ("sha256_digest", sha256),
        ("metadata_version", message.get("Metadata-Version", "")),
        ("name", message.get("Name", "")), ("version", message.get("Version", "")),
    ]
    return fields + _metadata_fields(message)


def _metadata_fields(message: Message) -> list[tuple[str, str]]:
    skip = {"metadata-version", "name", "version", "description"}
    fields = [
        (_MULTI.get(key.lower(), key.lower().replace("-", "_")), str(value))
        for key, value in message.items() if key.lower() not in skip
    ]
    body = message.get_payload() or message.get("Description", "")
    return fields + ([("description", str(body))] if body else [])


def _already_exists(exc: HubResponseError) -> bool:
    # twine --skip-existing's rule: 409, or a 400 saying the file already exists.
    return exc.status == 409 or (exc.status == 400 and "already exist" in str(exc).lower())


def _error_message(response: requests.Response, method: str, url: str) -> str:
    try:
        detail = str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        detail = response.text.strip().splitlines()[0] if response.text.strip() else ""
    message = f"{method} {url} failed with {response.status_code}: {detail or response.reason}"
    if response.status_code in (401, 403):
        message += (" — set HUB_TOKEN to a token from `hub token create` "
                    "(run on the hub's machine)")
    return message

