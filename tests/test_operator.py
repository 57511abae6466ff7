import pickle

import pytest

from hub import InvalidOperator, Operator, OperatorLoadError, OperatorSpec
from hub._operator import Resources
from hub.metadata import to_json, with_defaults


def test_create_flattens_resources_and_normalizes_the_name():
    spec = OperatorSpec.create("Image_Embed", "m.x:Embed", kind="class", num_cpus=2, memory=10)
    assert spec.name == "image-embed"
    assert spec.resources == Resources(num_cpus=2, num_gpus=0, memory=10)
    assert spec.resources.to_ray() == {"num_cpus": 2, "num_gpus": 0, "memory": 10}


def test_a_spec_holds_every_field_and_reads_back_as_the_hub_s_json():
    spec = OperatorSpec.create("embed", "m:Embed", kind="class", inputs="text: str")
    assert spec == OperatorSpec("embed", "m:Embed", dict(spec.metadata))
    assert (spec.kind, spec.batch, spec.inputs, spec.outputs) == ("class", False, ("text: str",), ())
    assert spec.to_dict() == {
        "name": "embed", "target": "m:Embed",
        **to_json(with_defaults({"kind": "class", "inputs": ["text: str"]})),
        "distribution": None, "version": None, "origin": None,
    }


@pytest.mark.parametrize(
    "name, target, meta, message",
    [
        ("ok", "no-colon", {}, "import path"),
        ("ok", "m:f", {"kind": "actor"}, "kind"),
        ("ok", "m:f", {"num_cpus": -1}, "num_cpus=-1 must be a finite number >= 0"),
        ("ok", "m:f", {"colour": "red"}, "colour"),
        ("-bad-", "m:f", {}, "lower-case"),
    ],
)
def test_invalid_registrations_are_rejected_with_the_reason(name, target, meta, message):
    with pytest.raises(InvalidOperator, match=message):
        OperatorSpec.create(name, target, **meta)


def test_function_operator_binds_arguments_after_the_item():
    op = Operator(OperatorSpec("mul", "operator:mul"), 3)
    assert op(4) == 12
    assert op.call_batch([1, 2]) == [3, 6]


class Doubler:
    def __init__(self, offset=0):
        self.offset = offset

    def __call__(self, items):
        return [2 * x + self.offset for x in items]


def test_batched_class_operator_is_built_once_and_takes_lists():
    spec = OperatorSpec.create("doubler", f"{__name__}:Doubler", kind="class", batch=True)
    op = Operator(spec, offset=1)
    assert op(5) == 11
    impl = op.build()
    assert op.call_batch([1, 2, 3]) == [3, 5, 7]
    assert op.build() is impl


def test_operator_pickles_without_its_implementation():
    spec = OperatorSpec.create("doubler", f"{__name__}:Doubler", kind="class", batch=True)
    op = Operator(spec, offset=1)
    op.build()
    clone = pickle.loads(pickle.dumps(op))
    assert clone._impl is None and clone.kwargs == {"offset": 1}
    assert clone.call_batch([1]) == [3]


def first_only(items):
    return items[:1]


def test_batch_operator_returning_the_wrong_count_is_an_error():
    spec = OperatorSpec.create("bad", "builtins:sorted", batch=True)
    assert Operator(spec).call_batch([2, 1]) == [1, 2]
    spec = OperatorSpec.create("bad", f"{__name__}:first_only", batch=True)
    with pytest.raises(InvalidOperator, match="returned 1 results for 2 items"):
        Operator(spec).call_batch([1, 1])


def test_loading_reports_a_missing_module_and_a_wrong_kind():
    with pytest.raises(OperatorLoadError, match="No module named 'nowhere_xyz'"):
        OperatorSpec("x", "nowhere_xyz:f").load()
    with pytest.raises(OperatorLoadError, match="declared kind 'function' but found a class"):
        OperatorSpec("x", f"{__name__}:Doubler").load()
