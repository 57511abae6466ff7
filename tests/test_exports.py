"""Each public face is a sorted __all__, pinned here name by name (as httpx pins its own):
a name added to or dropped from any package's public face is a decision this test records.
runtime_env's face is pinned in tests/runtime_env/test_renv_exports.py."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

import hub

ERRORS = [
    "BundleError", "CommandFailed", "ConfigError", "CorruptDatabase", "HubConnectionError",
    "HubError", "HubResponseError", "InvalidDistribution", "InvalidOperator", "ItemError",
    "MirrorError", "NotMirrored", "OperatorAttributeError", "OperatorBroken",
    "OperatorConflict", "OperatorLoadError", "OperatorNotFound", "OperatorNotLocal",
    "PinConflict", "PipelineError", "ProjectNotFound", "ResolutionError", "ScaffoldError",
    "StorageError", "UpstreamError",
]
PUBLIC = {
    # users (ops, pipelines, the client, the errors) and plugin authors (hookimpl, metadata)
    "hub": sorted([*ERRORS, "DataCollection", "HubClient", "Operator", "OperatorMetadata",
                   "OperatorSpec", "__version__", "hookimpl", "ops", "per_worker"]),
    "hub.metadata": ["FIELDS", "KINDS", "Field", "Kind", "OperatorMetadata", "Rule",
                     "check_registration"],
    "hub.config": ["DEFAULT_URL", "Settings", "config_path", "load_settings"],
    "hub.pipeline": [
        "ClusterView", "DataCollection", "Executor", "ItemError", "ItemFailure", "PerWorker",
        "PipelineError", "Plan", "Regroup", "Stage", "StageOptions", "StagePlan",
        "make_executor", "make_plan", "per_worker", "ray_data_class", "ray_data_fn",
        "release_warm_pools",
    ],
    "hub.pipeline.executors": ["Executor", "LocalExecutor", "ThreadExecutor", "Window",
                               "make_executor"],
    "hub.server": [
        "DEFAULT_MAX_UPLOAD_BYTES", "LOCAL_TOKEN_FILE", "CheckReport", "FileExistsConflict",
        "FileRecord", "RecoveryReport", "RequestRejected", "Revoked", "Storage", "TokenRecord",
        "check", "check_token", "create_app", "create_token", "find_token", "recover",
        "revoke_token", "storage_lock", "write_local_token",
    ],
    "hub.server.pages": ["MAX_README_BYTES", "Pages", "routes"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_face_is_pinned_and_every_name_resolves(module: str) -> None:
    imported = importlib.import_module(module)
    assert imported.__all__ == PUBLIC[module]
    for name in imported.__all__:
        assert getattr(imported, name) is not None, name


def test_every_public_module_with_an_all_is_pinned() -> None:
    """hub's packages and its public top-level modules (no underscore)."""
    public = ["hub"] + [
        info.name for info in pkgutil.walk_packages(hub.__path__, "hub.")
        if not any(part.startswith("_") for part in info.name.split("."))
        and (info.ispkg or info.name.count(".") == 1)
    ]
    found = {name for name in public if hasattr(importlib.import_module(name), "__all__")}
    assert found == set(PUBLIC)


def test_hub_lists_plain_sorted_names() -> None:
    assert hub.__all__ == sorted(hub.__all__)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = hub.no_such_thing


def test_every_error_class_is_exported_and_derives_from_hub_error():
    """hub's own errors and runtime_env's (one tree, re-exported by hub)."""
    import runtime_env._errors
    from hub import _exceptions

    classes = {n for module in (_exceptions, runtime_env._errors)
               for n, v in vars(module).items() if isinstance(v, type)
               and issubclass(v, Exception) and v.__module__ == module.__name__}
    assert classes == set(ERRORS)
    assert all(issubclass(getattr(hub, n), hub.HubError) for n in classes)


def test_importing_hub_stays_light():
    code = "import sys, hub; print(sorted(m for m in ('ray', 'torch', 'requests', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
