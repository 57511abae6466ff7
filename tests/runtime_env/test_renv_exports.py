"""The public face of ``runtime_env`` is pinned."""

import runtime_env


def test_public_names() -> None:
    assert runtime_env.__all__ == sorted(runtime_env.__all__, key=lambda n: (n.upper() != n, n))
    assert set(runtime_env.__all__) == {
        "PYPI", "CacheEntry", "Cooldown", "EnvPlan", "Lock", "LockCache", "LockRequest",
        "NodeReport", "PipSources", "PipToolsResolver", "Planner", "Resolver", "Scope",
        "Sources", "Survey", "SurveyCache", "Target", "UvResolver", "Wheel",
        "base_constraints", "fused_runtime_env", "get_resolver", "installer_env",
        "lock_operator", "needs_env", "node_env", "plan_env", "requirements_for",
        "spec_requirements", "stage_runtime_env",
    }
    assert all(hasattr(runtime_env, name) for name in runtime_env.__all__)


def test_no_private_imports_of_hub() -> None:
    """runtime_env depends on hub's public face only (hub, hub.config, hub.client)."""
    from pathlib import Path

    sources = Path(runtime_env.__file__).parent.glob("*.py")
    offending = [p.name for p in sources if "from hub._" in p.read_text()
                 or "import hub._" in p.read_text()]
    assert offending == []
