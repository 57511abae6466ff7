"""Turn an operator's dependencies into a pinned lock and a Ray runtime_env."""

__all__: list[str] = []
