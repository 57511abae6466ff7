"""The public face of ``runtime_env`` is pinned."""

import runtime_env


def test_public_names() -> None:
    assert runtime_env.__all__ == sorted(runtime_env.__all__, key=lambda n: (n.upper() != n, n))
    assert set(runtime_env.__all__) == {
        "PYPI", "CacheEntry", "Cooldown", "EnvPlan", "Lock", "LockCache", "LockRequest",
        "MirrorError", "NodeReport", "NodeTool", "NotMirrored", "PinConflict", "PipSources",
        "PipToolsResolver", "Planner", "ResolutionError", "Resolver", "Scope", "Sources",
        "Survey", "SurveyCache", "Target", "UpstreamError", "UvResolver", "Wheel",
        "base_constraints", "fused_runtime_env", "get_resolver", "installer_env",
        "lock_operator", "needs_env", "node_env", "plan_env", "probe_interpreter",
        "requirements_for", "spec_requirements", "stage_runtime_env",
    }
    assert all(hasattr(runtime_env, name) for name in runtime_env.__all__)


def test_the_mirror_face_is_pinned() -> None:
    """What `hub mirror` and `hub bundle` build on (tests/test_layers.py keeps them to it)."""
    from runtime_env import mirror

    assert mirror.__all__ == sorted(mirror.__all__)
    assert set(mirror.__all__) == {
        "Needed", "SourceFile", "TargetLocks", "find_wheel", "local_path", "tag_rank",
        "target_flags", "target_locks", "targets",
    }
    assert all(hasattr(mirror, name) for name in mirror.__all__)


def test_runtime_env_owns_its_errors_in_hubs_one_tree() -> None:
    """Defined in runtime_env, caught as hub.HubError, still reachable as ``hub.X``."""
    import hub

    for name in ("MirrorError", "NotMirrored", "PinConflict", "ResolutionError"):
        error = getattr(runtime_env, name)
        assert error.__module__ == "runtime_env._errors"
        assert issubclass(error, hub.HubError)
        assert getattr(hub, name) is error
    assert issubclass(runtime_env.NotMirrored, runtime_env.ResolutionError)


def test_importing_hub_does_not_import_runtime_env_until_an_error_is_asked_for() -> None:
    import subprocess
    import sys

    code = ("import sys, hub; print('runtime_env' in sys.modules); "
            "from hub import PinConflict; print('runtime_env' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "True"]
