"""HubClient without a server: upload fields, local token, connection errors, paths."""

from __future__ import annotations

import socket
from email.parser import BytesParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import hub
from hub._dist import inspect_wheel
from hub._exceptions import CommandFailed, HubConnectionError, InvalidDistribution
from hub._install import install_command
from hub._local_hub import write_record
from hub._publish import publish
from hub.cli import main
from hub.client import HubClient, is_loopback, upload_fields


def dead_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_upload_fields_are_what_twine_sends(wheels: dict[str, Path]) -> None:
    info = inspect_wheel(wheels["basic"])
    fields = upload_fields(info.metadata, info.filename, info.sha256)
    values = dict(fields)
    assert values[":action"] == "file_upload" and values["protocol_version"] == "1"
    assert (values["name"], values["version"]) == ("opshub-test-basic", "1.0.0")
    assert (values["filetype"], values["pyversion"]) == ("bdist_wheel", "py2.py3")
    assert values["sha256_digest"] == info.sha256
    metadata = BytesParser().parsebytes(info.metadata)
    assert values["metadata_version"] == metadata["Metadata-Version"]
    assert values["summary"] == metadata["Summary"]


def test_upload_fields_keep_a_utf8_readme_and_repeated_fields() -> None:
    metadata = ("Metadata-Version: 2.1\nName: op\nVersion: 1.0\nRequires-Dist: numpy\n"
                "Requires-Dist: pillow\nClassifier: A\n\nEmbeds — café ☕\n").encode()
    fields = upload_fields(metadata, "op-1.0-py3-none-any.whl", "0" * 64)
    assert ("description", "Embeds — café ☕\n") in fields
    assert [v for k, v in fields if k == "requires_dist"] == ["numpy", "pillow"]
    assert ("classifiers", "A") in fields and ("pyversion", "py3") in fields


@pytest.mark.parametrize(
    ("url", "loopback"),
    [("http://127.0.0.1:8470", True), ("http://localhost", True), ("http://[::1]:1", True),
     ("http://127.3.2.1", True), ("https://hub.example.com", False), ("http://10.0.0.1", False)],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_local_token_is_found_by_port_for_a_loopback_hub_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = tmp_path / "anywhere"
    storage.mkdir()
    (storage / "local-token").write_text("secret\n")
    write_record(tmp_path / "data", 8470, "http://127.0.0.1:8470", storage)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    client = HubClient.from_settings()
    assert client.token is None and client.local and client.local.token() == "secret"
    monkeypatch.setenv("HUB_URL", "http://localhost:8470")
    assert HubClient.from_settings().local is not None  # any loopback spelling, same port
    monkeypatch.setenv("HUB_URL", "http://127.0.0.1:8471")
    assert HubClient.from_settings().local is None  # no hub recorded on that port
    monkeypatch.setenv("HUB_TOKEN", "explicit")
    assert (HubClient.from_settings().token, HubClient.from_settings().local) == ("explicit",
                                                                                   None)
    monkeypatch.delenv("HUB_TOKEN")
    monkeypatch.setenv("HUB_URL", "https://hub.example.com:8470")
    assert HubClient.from_settings().local is None


def test_dead_hub_is_one_line_naming_the_url_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    url = dead_url()
    with pytest.raises(HubConnectionError, match="start one with `hub serve` or set HUB_URL"):
        HubClient(url).search("x")
    monkeypatch.setenv("HUB_URL", url)
    result = CliRunner().invoke(main, ["search", "embed"])
    assert result.exit_code == 1
    assert result.output == (
        f"error: no hub at {url} — start one with `hub serve` or set HUB_URL\n"
    )


def test_publish_rejects_what_is_not_a_wheel_or_project(tmp_path: Path) -> None:
    client = HubClient(dead_url())
    with pytest.raises(InvalidDistribution, match="does not exist"):
        publish([tmp_path / "missing"], client)
    (tmp_path / "op.tar.gz").write_bytes(b"")
    with pytest.raises(InvalidDistribution, match="neither a wheel"):
        publish([tmp_path / "op.tar.gz"], client)
    with pytest.raises(InvalidDistribution, match="neither a wheel"):
        publish([tmp_path], client)


def test_publish_validates_every_wheel_before_connecting(tmp_path: Path,
                                                          wheels: dict[str, Path]) -> None:
    bad = tmp_path / "opshub_test_basic-1.0.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InvalidDistribution):  # not HubConnectionError: nothing was sent
        publish([wheels["basic"], bad], HubClient(dead_url()))


def test_uv_install_searches_the_hub_first_with_its_config_off() -> None:
    from runtime_env import Sources

    sources = Sources("http://pypi/simple/", ("http://extra/",), ("/wheels",),
                      hub_index="http://h/simple/")
    command = install_command(["opshub-test-basic"], sources, "/py", "uv")
    assert command[1:] == ["pip", "install", "--no-config", "--python", "/py", "--index",
                           "http://h/simple/", "--index", "http://extra/", "--default-index",
                           "http://pypi/simple/", "--index-strategy", "unsafe-first-match",
                           "--find-links", "/wheels", "opshub-test-basic"]
    with pytest.raises(ValueError, match="no single pip command"):  # pip#8606: see _pip_install
        install_command(["x"], sources, "/py", "pip")


def test_errors_are_hub_errors() -> None:
    assert issubclass(hub._exceptions.ProjectNotFound, (hub.HubError, KeyError))


def test_a_failed_build_is_one_error_with_the_tool_output(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'x'\n")
    with pytest.raises(CommandFailed, match=f"building a wheel of {tmp_path} failed") as error:
        publish([tmp_path], HubClient(dead_url()))
    assert error.value.returncode != 0 and "TOML" in str(error.value)
