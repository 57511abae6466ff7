"""The stage runtime_env on the session's local Ray (workers see the test operators), locked
from the session's local index."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
from ray.runtime_env import RuntimeEnv
from support.envs import node_spec

from hub import ConfigError, ops
from hub._registry import Registry
from runtime_env import (
    PinConflict,
    Planner,
    ResolutionError,
    SurveyCache,
    Target,
    UvResolver,
    fused_runtime_env,
    stage_runtime_env,
)

pytestmark = pytest.mark.ray


@pytest.fixture
def registry(test_ops, ray_local, node_tool_index, monkeypatch) -> Registry:
    """The test operators; their locks come from the session's local index (tabulate
    0.10.0, toolz 0.12.1 and 1.0.0), not PyPI."""
    monkeypatch.setenv("PIP_INDEX_URL", node_tool_index.simple)
    return Registry.discover()


def round_trip(env: dict) -> dict:
    data = RuntimeEnv(**env).to_dict()
    data.pop("_ray_commit", None)
    return data


def refusing_runner(command):
    raise AssertionError(f"no resolver may run: {command}")


def test_no_env_and_no_lock_when_the_nodes_already_have_everything(registry) -> None:
    # tensor-sum needs torch: the node has 2.13.0+cpu while PyPI has newer CUDA builds;
    # the requirement is checked on the nodes before any resolver runs.
    refusing = UvResolver(refusing_runner)
    assert stage_runtime_env(registry.get("add-one"), resolver=refusing) is None
    assert stage_runtime_env(registry.get("tensor-sum"), resolver=refusing) is None
    assert fused_runtime_env([registry.get("add-one"), registry.get("running-sum")],
                             resolver=refusing) is None


def test_one_survey_per_node_set(registry, tmp_path, monkeypatch) -> None:
    from runtime_env import _survey

    surveys = SurveyCache(tmp_path)
    Planner(surveys=surveys).scope([registry.get("add-one")])
    assert len(list(tmp_path.glob("*.json"))) == 1

    def no_probe(*args):
        raise AssertionError("the survey is cached per node set: no second probe")

    monkeypatch.setattr(_survey, "probe", no_probe)
    scope = Planner(surveys=surveys).scope([registry.get("render-row")])  # another driver
    assert scope.target == Target.current() and not scope.assumed


def test_a_survey_is_trusted_for_its_max_age_and_hub_cache_prune_drops_it(
        registry, tmp_path, monkeypatch) -> None:
    """A node changed in place keeps its ID: an old survey is probed again, and `hub
    cache prune` drops surveys at once."""
    import json

    import ray
    from click.testing import CliRunner

    from hub.cli import main

    surveys = SurveyCache(tmp_path)
    surveys.get_or_probe(ray)
    (path,) = tmp_path.glob("*.json")
    entry = json.loads(path.read_text())
    path.write_text(json.dumps({**entry, "created": entry["created"] - 7200,
                                "nodes": []}))  # two hours old, and no longer true
    assert surveys.get_or_probe(ray).nodes  # probed again: a node, not the stale nothing
    assert surveys.prune(older_than=3600) == 0 and surveys.prune() == 1
    monkeypatch.setenv("HUB_CACHE_DIR", str(tmp_path / "hub-cache"))
    SurveyCache.default().get_or_probe(ray)
    assert CliRunner().invoke(main, ["cache", "prune"]).output == \
        "removed 0 cached locks and 1 survey\n"


def test_the_stages_of_one_run_share_one_planner(registry, monkeypatch) -> None:
    """pip's configuration and the hub's project list are read once per pipeline run."""
    from hub.pipeline import DataCollection
    from hub.pipeline._driver import prepare

    made: list[Planner] = []
    init = Planner.__init__

    def counted(self: Planner, *args: object, **kwargs: object) -> None:
        made.append(self)
        init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Planner, "__init__", counted)
    pipeline = (DataCollection(range(2)).map(ops.add_one(), backend="ray")
                .map(ops.render_row(), backend="ray", num_cpus=0.5))
    assert "decided when the run starts" in pipeline.explain() and made == []  # no env yet
    plan = prepare(pipeline._steps).plan  # what a run prepares: each stage's env
    assert len(plan.steps) == 2 and len(made) == 1


def test_a_missing_third_party_package_gets_a_hash_pinned_node_env(registry) -> None:
    env = stage_runtime_env(registry.get("render-row"))
    assert env is not None and round_trip(env) == env
    assert set(env) == {"py_executable"}  # the workers already have opshub and the operator
    spec = node_spec(env)
    (line,) = spec["requirements"]
    assert line.startswith("tabulate==0.10.0 --hash=sha256:")
    assert "--index-url" in spec["install_options"]


def test_identical_locks_share_one_env_and_conflicts_do_not(registry) -> None:
    a, b = registry.get("toolz-version-a"), registry.get("toolz-version-b")
    assert stage_runtime_env(a) == stage_runtime_env(a)
    assert stage_runtime_env(a) != stage_runtime_env(b)


def test_fused_conflicting_operators_fail_before_any_ray_work(registry) -> None:
    with pytest.raises(PinConflict, match="toolz-version-a.*toolz-version-b"):
        fused_runtime_env([registry.get("toolz-version-a"), registry.get("toolz-version-b")])


def test_resolution_failure_surfaces_before_ray(registry) -> None:
    def broken(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "error: no index reachable\n")

    with pytest.raises(ResolutionError, match="exit 1.*no index reachable") as info:
        stage_runtime_env(registry.get("render-row"), resolver=UvResolver(broken))
    assert info.value.returncode == 1 and info.value.command[1:3] == ["pip", "compile"]


def test_bad_ship_mode(registry) -> None:
    with pytest.raises(ConfigError, match="ship='ftp'"):
        stage_runtime_env(registry.get("render-row"), ship="ftp")  # type: ignore[arg-type]


def test_an_unpublished_operator_the_nodes_lack_ships_through_py_modules(registry) -> None:
    spec = dataclasses.replace(registry.get("add-one"), version="9.9")  # not what workers have
    env = stage_runtime_env(spec)
    assert env is not None and round_trip(env) == env
    assert "py_executable" not in env
    assert env["py_modules"] and all(u.startswith("gcs://") for u in env["py_modules"])
