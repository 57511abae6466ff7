"""`hub serve`: run the hub server (simple index, upload, JSON API, web pages) with uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import _local_hub
from .._config import DEFAULT_HOST, DEFAULT_PORT, load_settings
from .._exceptions import HubError

if TYPE_CHECKING:
    from ..server import Storage


def default_storage() -> Path:
    """``<HUB_DATA_DIR or the user data dir>/storage``."""
    return load_settings().data_dir / "storage"


STORAGE_OPTION = click.option(
    "--storage", type=click.Path(file_okay=False, path_type=Path),
    help="Storage directory [default: <data dir>/storage].")


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Interface to bind; the default serves this machine only.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@STORAGE_OPTION
@click.option("--max-upload-size", default=100, show_default=True, type=click.IntRange(1),
              help="Largest accepted operator upload, in MiB.")
@click.option("--max-mirror-size", default=4096, show_default=True, type=click.IntRange(1),
              help="Largest accepted mirrored third-party wheel (`hub mirror`), in MiB.")
@click.option("--max-import-size", default=64, show_default=True, type=click.IntRange(1),
              help="Largest accepted bundle (`hub import`), in GiB.")
def serve(host: str, port: int, storage: Path | None, max_upload_size: int,
          max_mirror_size: int, max_import_size: int) -> None:
    """Serve operator wheels to pip, uv and `hub install`, and web pages to browsers; accept
    uploads with a token.

    At start the storage is recovered (a lost or damaged database is rebuilt from
    files/ and the journal; nothing is deleted) and each finding printed on stderr.
    One hub serves a storage at a time: it holds the storage's lock while it runs.

    It runs in the foreground: stop it with Ctrl-C, or, started in the background
    (`hub serve &`), with `kill <pid>` (SIGTERM); it finishes the requests in flight
    and exits. Uploads are safe against a stop at any moment.
    """
    from ..server import storage_lock

    _check_free(host, port)
    storage = storage or default_storage()
    with storage_lock(storage, "hub serve"):  # no second hub, no recovery under this one
        _serve(host, port, storage, max_upload_bytes=max_upload_size * 1024 * 1024,
               max_mirror_bytes=max_mirror_size * 1024 * 1024,
               max_import_bytes=max_import_size * 1024**3)


def _serve(host: str, port: int, storage: Path, **limits: int) -> None:
    import uvicorn

    from ..server import create_app

    data_dir = load_settings().data_dir
    app = create_app(storage, local_port=port or None, **limits)
    for line in app.state.recovery.lines():
        click.echo(line, err=True)
    _first_token(app.state.storage)
    url = f"http://{host}:{port}"
    if port:
        _record(data_dir, port, url, storage)
    click.echo(f"serving {storage} at {url}/ (web pages; index {url}/simple/, mirror "
               f"{url}/mirror/simple/)")
    if not _is_loopback(host):
        click.echo(f"warning: {host} is reachable from other machines: reads are open to them "
                   "(uploads still need a token); plain HTTP, so use a TLS proxy in front",
                   err=True)
    _log_to_stderr()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if port:
            _local_hub.remove_record(data_dir, port, storage)


def _record(data_dir: Path, port: int, url: str, storage: Path) -> None:
    """Let clients on this machine find the hub's local token (hub._local_hub)."""
    try:
        _local_hub.write_record(data_dir, port, url, storage)
    except OSError as exc:
        click.echo(f"warning: cannot record this hub in {data_dir} ({exc.strerror or exc}): "
                   "clients on this machine need HUB_TOKEN", err=True)


def _log_to_stderr() -> None:
    """The server's own warnings (skipped rows, missing files, 500s) go where uvicorn's go."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("hub.server")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _first_token(store: Storage) -> None:
    """With no token yet, create one, print it and share it with same-machine clients."""
    from ..server import create_token, write_local_token

    if not store.token_hashes():
        token = create_token(store)
        path = write_local_token(store, token)
        click.echo(f"created an upload token (also in {path}):\n{token}")


def _check_free(host: str, port: int) -> None:
    """Fail with one clear line, before any set-up, when the address is taken."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise HubError(f"cannot listen on {host}:{port} ({exc.strerror}); another hub may "
                           "be running there — pass a free --port") from None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
