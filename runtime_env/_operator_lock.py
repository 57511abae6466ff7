"""Lock one operator: its distribution's requirements under the base environment."""

from __future__ import annotations

from collections.abc import Sequence

from hub._config import Settings, load_settings
from hub._exceptions import InvalidOperator
from hub._operator import OperatorSpec

from ._cache import LockCache, LockRequest
from ._lock import Lock
from ._requirements import base_constraints, requirements_for
from ._resolvers import PYPI, Resolver, get_resolver
from ._target import Target


def resolution_indexes(settings: Settings) -> tuple[str, ...]:
    """Where the driver resolves: the hub first (when it answers), then PyPI.

    The indexes are part of the lock's cache key, so a lock made without the hub
    is never mistaken for one made with it.
    """
    return (settings.index_url, PYPI) if hub_is_up(settings.url) else (PYPI,)


def hub_is_up(url: str) -> bool:
    """Whether the hub answers its health check (one short request)."""
    import requests

    try:
        return requests.get(url.rstrip("/") + "/api/health", timeout=2).ok
    except requests.RequestException:
        return False


def lock_operator(spec: OperatorSpec, *, target: Target | None = None,
                  resolver: Resolver | None = None, cache: LockCache | None = None,
                  settings: Settings | None = None,
                  indexes: Sequence[str] | None = None) -> Lock:
    """The (cached) lock of an installed operator's third-party requirements.

    Ray and its dependency closure are constraints at the driver's versions, so the
    lock never moves a package every Ray node already has.
    """
    target = target or Target.current()
    settings = settings or load_settings()
    requirements = requirements_for(_distribution(spec), target)
    request = LockRequest.create(requirements, base_constraints(target), target,
                                 indexes or resolution_indexes(settings))
    return (cache or LockCache.default()).get_or_resolve(request, resolver or get_resolver())


def _distribution(spec: OperatorSpec) -> str:
    if not spec.distribution:
        raise InvalidOperator(
            f"operator {spec.name!r} has no distribution: only installed operators "
            "(found by hub.Registry) can be locked; install it with `pip install -e`"
        )
    return spec.distribution
