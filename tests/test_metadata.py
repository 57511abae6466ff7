"""hub.metadata: one definition of the register() keywords, read by everything else."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from support.plugins import load_source

from hub import InvalidOperator, OperatorSpec
from hub._operator import Resources
from hub._scaffold import NewProject
from hub.metadata import FIELDS, RESOURCES, OperatorMetadata, check_registration, with_defaults

GUIDE = Path(__file__).parents[1] / "docs" / "guide.md"


def test_every_field_is_declared_once_in_the_typed_dict_with_its_default_and_rule() -> None:
    assert list(FIELDS) == list(OperatorMetadata.__annotations__)
    name, defaults = check_registration("op", "m:f", {})  # every default obeys its rule
    assert name == "op" and defaults == with_defaults({})
    assert list(defaults) == list(FIELDS)


def test_resource_fields_are_the_resources_of_a_call() -> None:
    assert RESOURCES == tuple(f.name for f in fields(Resources))
    spec = OperatorSpec.create("op", "m:f", num_gpus=1, memory=2**20)
    assert spec.resources == Resources(num_cpus=1.0, num_gpus=1, memory=2**20)


def test_a_bare_string_is_one_input_and_lists_are_stored_as_tuples() -> None:
    _, metadata = check_registration("op", "m:f", {"inputs": "text: str", "outputs": ["a"]})
    assert (metadata["inputs"], metadata["outputs"]) == (("text: str",), ("a",))


def test_a_refused_value_is_quoted_short_on_one_line() -> None:
    with pytest.raises(InvalidOperator) as info:
        check_registration("op", "m:f", {"description": ["x" * 500]})
    assert str(info.value) == (f"operator 'op': description=['{'x' * 55}... must be a string; "
                               "fix its register() call")


def test_the_hub_s_json_of_an_older_release_takes_the_defaults() -> None:
    stored = {"name": "op", "target": "m:f", "kind": "class", "memory": None}
    assert with_defaults(stored) == {**with_defaults({}), "kind": "class"}


def test_the_guide_documents_every_field() -> None:
    section = GUIDE.read_text(encoding="utf-8").split("### The register() keywords")[1]
    table = section.split("\n\n")[1]
    assert re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE) == list(FIELDS)


@pytest.mark.parametrize("kind", ["function", "class"])
def test_hub_new_renders_the_register_call_from_the_fields(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scaffold's plugin registers exactly its metadata: every keyword a valid field."""
    project = NewProject.create("word-count", kind)
    files = project.files()
    result = load_source(files["word_count/plugin.py"], tmp_path, monkeypatch)
    assert result.error is None
    [spec] = result.specs
    assert spec.metadata == check_registration("word-count", spec.target, project.metadata())[1]
    assert spec.kind == kind and set(project.metadata()) <= set(FIELDS)
    card = files["README.md"]
    assert "`num_cpus=1`" in card and "`text: str`" in card
