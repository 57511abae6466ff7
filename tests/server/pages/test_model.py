"""What the pages show, from records: current version, install lines, resources, sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from hub.server import FileRecord
from hub.server.pages import _model

HUB = "http://hub.example:9000"


def _record(version: str = "1.0", project: str = "demo", **fields: object) -> FileRecord:
    record = FileRecord(
        filename=f"{project}-{version}-py3-none-any.whl", project=project, version=version,
        sha256="ab" * 32, size=12_345, upload_time=f"2025-01-0{version[0]}T10:11:12.5Z",
        requires_python=">=3.10", summary="S", keywords=["k"], requires_dist=[], readme="",
        readme_content_type=None, operators=[], metadata_sha256="cd" * 32, yanked=False,
        yanked_reason=None)
    return replace(record, **fields)


def _no_hub(name: str) -> Sequence[str] | None:
    return None


def test_card_shows_newest_version_not_yanked() -> None:
    files = [_record("1.0"), _record("2.0", yanked=True, yanked_reason="bad")]
    card = _model.card(files)
    assert (card.version, card.yanked) == ("1.0", False)
    assert _model.card([replace(files[0], yanked=True), files[1]]).yanked  # all yanked


def test_operator_view_reads_the_registration() -> None:
    op = {"name": "embed", "target": "m:E", "kind": "class", "batch": True,
          "description": "d", "num_cpus": 0.5, "num_gpus": 1, "memory": 2 * 1024**3,
          "inputs": ["image: uint8"], "outputs": "vector"}
    [view] = _model.card([_record(operators=[op])]).operators
    assert (view.kind, view.batch, view.static) == ("class", True, True)
    assert view.resources == "0.5 CPU · 1 GPU · 2.0 GiB memory"
    assert (view.inputs, view.outputs) == (("image: uint8",), ("vector",))
    dynamic = {"name": "x", "target": "m.plugin", "static": False}
    [view] = _model.card([_record(operators=[dynamic])]).operators
    assert (view.static, view.resources, view.inputs) == (False, "1 CPU", ())


@pytest.mark.parametrize("size, binary, text", [
    (0, False, "0 B"), (999, False, "999 B"), (12_345, False, "12.3 kB"),
    (3_300_000, False, "3.3 MB"), (140 * 1024**2, True, "140.0 MiB"), (5 * 1000**5, False, "5000.0 TB"),
])
def test_size_text(size: int, binary: bool, text: str) -> None:
    assert _model.size_text(size, binary=binary) == text


def test_time_text() -> None:
    assert _model.time_text("2025-01-02T10:11:12.345678Z") == "2025-01-02 10:11 UTC"


def _install(view: _model.ProjectView) -> dict[str, tuple[str, ...]]:
    return {line.tool: line.commands for line in view.install}


def test_install_lines_for_the_newest_version() -> None:
    files = [_record("1.0"), _record("2.0", requires_dist=["numpy>=1.24", "torch>=2.1"])]
    view = _model.project_view(files, _model.version_files(files, None) or [], HUB, _no_hub)
    assert view.version == "2.0" and view.latest == "2.0"
    assert _install(view) == {
        "hub": (f"HUB_URL={HUB} hub install demo",),
        "uv": (f"uv pip install --index {HUB}/simple/ --index-strategy first-index demo",),
        "pip": ("pip install 'numpy>=1.24' 'torch>=2.1'",
                f"pip install --index-url {HUB}/simple/ demo"),
    }


def test_install_lines_pin_an_older_or_yanked_version() -> None:
    files = [_record("1.0"), _record("2.0", yanked=True, yanked_reason="bad"), _record("3.0")]
    old = _model.project_view(files, [files[0]], "http://127.0.0.1:8470/", _no_hub)
    assert _install(old)["hub"] == ("hub install demo==1.0",)  # the default hub: no HUB_URL
    index = "http://127.0.0.1:8470/simple/"
    assert _install(old)["pip"] == (f"pip install --index-url {index} demo==1.0",)
    yanked = _model.project_view(files, [files[1]], HUB, _no_hub)
    assert yanked.yanked and yanked.yanked_reason == "bad" and yanked.latest == "3.0"
    assert _install(yanked)["uv"][0].endswith(" demo==2.0")
    assert [(v.version, v.yanked, v.current) for v in yanked.versions] == [
        ("3.0", False, False), ("2.0", True, True), ("1.0", False, False)]


def test_pip_line_takes_hub_names_from_the_hub_and_their_requirements_from_pypi() -> None:
    """A requirement on the hub is never sent to PyPI (dependency confusion, #11); its own
    third-party requirements are, recursively; requirements of extras are not."""
    hub = {"base-op": ["pillow>=10", "demo"], "helper-op": ["base-op", "numpy"]}
    record = _record(requires_dist=["helper-op>=1", "numpy", 'rich; extra == "pretty"',
                                    'tomli; python_version < "3.11"'])
    view = _model.project_view([record], [record], HUB, hub.get)
    assert _install(view)["pip"][0] == ("pip install numpy 'tomli; python_version < \"3.11\"' "
                                        "'pillow>=10'")
    assert [(r.text, r.hub_project) for r in view.requirements] == [
        ("helper-op>=1", "helper-op"), ("numpy", None), ('rich; extra == "pretty"', None),
        ('tomli; python_version < "3.11"', None)]


def test_version_files() -> None:
    files = [_record("1.0"), _record("2.0")]
    assert _model.version_files(files, "1.0") == [files[0]]
    assert _model.version_files(files, None) == [files[1]]
    assert _model.version_files(files, "9.0") is None
