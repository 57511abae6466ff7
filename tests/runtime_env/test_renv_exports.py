"""The public face of ``runtime_env`` is pinned."""

import runtime_env


def test_public_names() -> None:
    assert set(runtime_env.__all__) == {
        "PYPI", "CacheEntry", "Lock", "LockCache", "LockRequest", "PipToolsResolver",
        "Resolver", "Target", "UvResolver", "base_constraints", "fused_runtime_env",
        "get_resolver", "lock_operator", "merge", "requirements_for", "runtime_env_for",
        "stage_runtime_env",
    }
    assert all(hasattr(runtime_env, name) for name in runtime_env.__all__)
