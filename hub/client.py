"""HubClient: the hub's JSON API and legacy upload API over requests.

>>> client = HubClient.from_settings()                     # doctest: +SKIP
>>> [r["name"] for r in client.search("embed")]            # doctest: +SKIP
['image-embed', 'text-embed']

requests exceptions never leave this module: a hub that cannot be reached
raises :class:`HubConnectionError`, an error status :class:`HubResponseError`
(:class:`ProjectNotFound` for an unknown project), each one line naming the URL.
"""

from __future__ import annotations

import ipaddress
import sys
from email.message import Message
from email.parser import Parser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from ._config import Settings, load_settings
from ._exceptions import HubConnectionError, HubResponseError, ProjectNotFound
from ._operator import normalize_name

if TYPE_CHECKING:
    from ._dist import WheelInfo

TIMEOUT = 30.0  # seconds to connect and between bytes; uploads stream, so no total limit
LOCAL_TOKEN = Path("storage") / "local-token"  # under the data dir, written by `hub serve`

# Core-metadata fields that may repeat, and their legacy-upload form names (as twine sends).
_MULTI = {
    "classifier": "classifiers", "project-url": "project_urls", "platform": "platform",
    "supported-platform": "supported_platform", "requires-dist": "requires_dist",
    "provides-dist": "provides_dist", "obsoletes-dist": "obsoletes_dist",
    "requires-external": "requires_external", "provides-extra": "provides_extra",
    "dynamic": "dynamic", "license-file": "license_file",
}


class HubClient:
    """A client of one hub server.

    >>> client = HubClient("http://127.0.0.1:8470", token="...")   # doctest: +SKIP
    >>> client.health()["status"]                                  # doctest: +SKIP
    'ok'
    """

    def __init__(
        self, url: str, token: str | None = None, session: requests.Session | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> HubClient:
        """A client for HUB_URL, with HUB_TOKEN or, on a loopback hub, its local token."""
        settings = settings or load_settings()
        return cls(settings.url, settings.token or local_token(settings))

    @property
    def index_url(self) -> str:
        """The hub's PEP 503 simple index."""
        return self.url + "/simple/"

    def health(self) -> dict[str, Any]:
        """The server's status, version and number of projects."""
        return self._json("GET", "/api/health")

    def search(self, query: str) -> list[dict[str, Any]]:
        """Projects whose name, summary or keywords match ``query``."""
        results: list[dict[str, Any]] = self._json(
            "GET", "/api/search", params={"q": query}
        )["results"]
        return results

    def project(self, name: str) -> dict[str, Any]:
        """Everything the hub knows about a project; :class:`ProjectNotFound` if nothing."""
        try:
            return self._json("GET", f"/api/projects/{quote(name)}")
        except HubResponseError as exc:
            if exc.status == 404:
                raise ProjectNotFound(name, self.url) from None
            raise

    def project_names(self) -> set[str]:
        """The normalized name of every project the hub serves (its PEP 691 root index)."""
        data = self._json("GET", "/simple/",
                          headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        projects = data.get("projects")
        if not isinstance(projects, list):
            raise HubResponseError(f"{self.url}/simple/ answered without a project list — is "
                                   "HUB_URL an opshub hub?", self.url, 200)
        return {normalize_name(str(p.get("name", ""))) for p in projects if isinstance(p, dict)}

    def release_wheel(self, name: str, version: str) -> dict[str, Any] | None:
        """The wheel (``filename``, ``url``, ``sha256``) of a published, not yanked version
        (pure-Python preferred), or None when the hub does not serve that version."""
        from ._hub_operators import choose_wheel

        try:
            project = self.project(name)
        except ProjectNotFound:
            return None
        for release in project.get("versions", []):
            if release.get("version") == version and not release.get("yanked"):
                return dict(choose_wheel(release.get("files", []), project["name"], version))
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
        return self._json("POST", path, json=body, auth=self._auth())

    def _upload(self, path: Path, filename: str, fields: list[tuple[str, str]],
                progress: bool) -> None:
        from requests_toolbelt import (  # type: ignore[import-untyped]
            MultipartEncoder,
            MultipartEncoderMonitor,
        )
        from tqdm import tqdm  # type: ignore[import-untyped]

        with path.open("rb") as file:
            encoder = MultipartEncoder(
                [*fields, ("content", (filename, file, "application/octet-stream"))]
            )
            bar = tqdm(total=encoder.len, unit="B", unit_scale=True, desc=filename,
                       disable=not (progress and sys.stderr.isatty()), leave=False)
            with bar:
                monitor = MultipartEncoderMonitor(
                    encoder, lambda m: bar.update(m.bytes_read - bar.n)
                )
                self._request("POST", "/legacy/", data=monitor, auth=self._auth(),
                              headers={"Content-Type": monitor.content_type})

    def _auth(self) -> tuple[str, str] | None:
        return ("__token__", self.token) if self.token else None

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


def local_token(settings: Settings) -> str | None:
    """The token `hub serve` leaves for clients on its own machine (loopback hubs only)."""
    if not is_loopback(settings.url):
        return None
    try:
        return (settings.data_dir / LOCAL_TOKEN).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


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

