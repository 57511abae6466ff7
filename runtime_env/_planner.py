"""The planner: probe once, lock, plan, ship (issue #10 item 6).

    survey (the probe: one per node set, cached on disk)
      -> the nodes that can run the stage, and their target (Python, platform, accelerator)
      -> nothing to do when they already have everything
      -> locks (one per operator, cached; conflicting pins raise PinConflict)
      -> the plan (pure, ``_plan.plan_env``) -> the runtime_env (``_ship.ship``)

Hub questions go through :class:`hub.client.HubClient`; caches are passed in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from packaging.utils import canonicalize_name

import hub
from hub import ConfigError, OperatorSpec
from hub.client import HubClient
from hub.config import Settings, load_settings

from ._builds import list_builds
from ._cache import LockCache
from ._lock import Lock
from ._locking import Builds, lock_request
from ._merge import merge
from ._plan import EnvPlan, Wheel, needs_env, own_pins, plan_env
from ._request import LockRequest
from ._requirements import HUB_RUNTIME, SELF, closure, driver_lookup, spec_requirements
from ._resolvers import Resolver, get_resolver
from ._ship import RuntimeEnvDict, ship
from ._sources import Cooldown, Sources
from ._survey import Survey, SurveyCache
from ._target import Target

Ship = Literal["auto", "index", "py_modules"]
SHIP_MODES = ("auto", "index", "py_modules")


@dataclass(frozen=True)
class Scope:
    """The nodes a plan is for (surveyed or assumed) and the target they make."""

    survey: Survey
    target: Target

    @property
    def assumed(self) -> bool:
        return not self.survey.connected


class Planner:
    """Plans the runtime_env of pipeline stages on the connected Ray cluster.

    >>> planner = Planner()                                            # doctest: +SKIP
    >>> planner.runtime_env([ops.image_embed().spec], ray_options={"resources": {"gpu": 1}})
    ... # doctest: +SKIP
    """

    def __init__(self, *, settings: Settings | None = None, resolver: Resolver | None = None,
                 locks: LockCache | None = None, surveys: SurveyCache | None = None,
                 client: HubClient | None = None, builds: Builds = list_builds,
                 env: Mapping[str, str] = os.environ, ship: Ship = "auto") -> None:
        if ship not in SHIP_MODES:
            raise ConfigError(f"ship={ship!r} is unknown; use one of {SHIP_MODES}")
        self.settings = settings or load_settings()
        self.resolver = resolver or get_resolver()
        self.locks = locks or LockCache(self.settings.cache_dir / "locks")
        self.surveys = surveys or SurveyCache(self.settings.cache_dir / "surveys")
        self.builds, self.env, self.ship_mode = builds, env, ship
        self._client = client
        self._hub_names: frozenset[str] | None = None

    # --- the steps ----------------------------------------------------------------------

    @staticmethod
    def connected() -> bool:
        """Whether a Ray cluster is connected (else a bare node like this one is assumed)."""
        import ray

        return bool(ray.is_initialized())

    def scope(self, specs: Sequence[OperatorSpec], *, ray_options: Mapping[str, Any] | None
              = None, target: Target | None = None) -> Scope:
        """The nodes that can run a stage of ``specs`` (all when Ray is not connected: a
        bare node like this driver is assumed) and their target; ``target`` overrides it."""
        import ray

        if self.connected():
            survey = self.surveys.get_or_probe(ray).eligible(demands(specs, ray_options))
            found = survey.target()
        else:
            survey, found = Survey.assumed(target or Target.current()), None
        target = target or found or Target.current()
        if found is not None and not _same_kind(found, target):
            survey = Survey.assumed(target)  # another kind of node than the cluster has
        return Scope(survey, target)

    def lock(self, specs: Sequence[OperatorSpec], scope: Scope) -> Lock:
        """One lock for operators sharing an env; PinConflict names both and the package."""
        return merge({s.name: self._lock(spec_requirements(s, scope.target), scope, specs)
                      for s in specs})

    def plan(self, specs: Sequence[OperatorSpec], scope: Scope) -> EnvPlan | None:
        """What the env adds to the scope's nodes, or None when they have everything."""
        opshub = _opshub_version()
        if not needs_env(specs, scope.survey, scope.target, opshub):
            return None
        lock = self.lock(specs, scope)
        runtime = self._lock(_runtime_requirements(scope), scope, specs) \
            if scope.survey.missing({"opshub": opshub}) else Lock()
        return plan_env(specs, lock, scope.survey, target=scope.target,
                        install_options=self.sources(specs).pip_args(),
                        wheels=self._wheels(specs, lock, scope), opshub_version=opshub,
                        runtime=runtime)

    def runtime_env(self, specs: Sequence[OperatorSpec], *,
                    ray_options: Mapping[str, Any] | None = None,
                    target: Target | None = None, scope: Scope | None = None
                    ) -> RuntimeEnvDict | None:
        """Probe (unless ``scope`` is given), lock, plan and ship: the runtime_env of a
        stage running ``specs``."""
        scope = scope or self.scope(specs, ray_options=ray_options, target=target)
        plan = self.plan(specs, scope)
        return None if plan is None else ship(plan, specs)

    # --- sources and the hub --------------------------------------------------------------

    def sources(self, specs: Sequence[OperatorSpec]) -> Sources:
        """Where the locks of ``specs`` come from (the hub first when one is in use)."""
        client = self._hub(specs)
        return Sources.from_settings(self.settings, self.env,
                                     client.index_url if client else None)

    def hub_names(self, specs: Sequence[OperatorSpec]) -> frozenset[str]:
        """The projects of the hub in use (asked once per planner)."""
        client = self._hub(specs)
        if client is None:
            return frozenset()
        if self._hub_names is None:
            self._hub_names = frozenset(client.project_names())
        return self._hub_names

    def _hub(self, specs: Sequence[OperatorSpec]) -> HubClient | None:
        origins = [s.origin for s in specs if s.origin is not None]
        if self._client is None and (origins or self.settings.hub_configured):
            url = origins[0].hub_url if origins else self.settings.url
            self._client = HubClient(url)
        return self._client if (origins or self.settings.hub_configured) else None

    def _lock(self, requirements: Sequence[str], scope: Scope,
              specs: Sequence[OperatorSpec]) -> Lock:
        survey, target = scope.survey, scope.target
        base = survey.base(target)
        kept = {n: v for n, v in survey.common().items() if n not in base and n not in SELF}
        cooldown = Cooldown.from_settings(self.settings)
        names = self.hub_names(specs)
        request = LockRequest.create(requirements, base, target, self.sources(specs),
                                     preferences=kept, cooldown=cooldown,
                                     spared=sorted(names) if cooldown else ())
        return lock_request(request, self.resolver, self.locks, hub_names=names,
                            builds=self.builds)

    def _wheels(self, specs: Sequence[OperatorSpec], lock: Lock, scope: Scope
                ) -> dict[str, Wheel]:
        """The hub wheels the env installs by URL: the operators' own (from their origin,
        or the hub's release of an installed operator's version) and hub projects the
        lock pins."""
        wheels: dict[str, Wheel] = {canonicalize_name(s.origin.distribution): Wheel(
            s.origin.distribution, s.origin.version, self._worker_url(s.origin.url),
            s.origin.sha256) for s in specs if s.origin is not None}
        names = self.hub_names(specs)
        pinned = {n: v for n, v in lock.pins if n in names}
        installed = {} if self.ship_mode == "py_modules" else \
            {d: v for d, v in own_pins(specs).items() if d not in wheels}
        for dist, version in scope.survey.missing({**installed, **pinned}).items():
            found = self._published(specs, dist, version)
            if found is not None:
                wheels[dist] = found
            elif dist in pinned or self.ship_mode == "index":
                raise ConfigError(f"{dist} {version} is not on the hub at {self.settings.url} "
                                  "(yanked or never published); publish it with `hub publish`")
        return wheels

    def _published(self, specs: Sequence[OperatorSpec], dist: str, version: str
                   ) -> Wheel | None:
        client = self._hub(specs)
        found = client.release_wheel(dist, version) if client else None
        if found is None:
            return None
        return Wheel(dist, version, self._worker_url(str(found["url"])), str(found["sha256"]))

    def _worker_url(self, url: str) -> str:
        """A hub URL as the workers reach it (``HUB_WORKER_URL``)."""
        here, there = self.settings.url.rstrip("/"), self.settings.worker_url
        return there.rstrip("/") + url[len(here):] if there and url.startswith(here) else url


def demands(specs: Sequence[OperatorSpec], ray_options: Mapping[str, Any] | None
            ) -> dict[str, float]:
    """The Ray resources a stage asks of a node: its options', else the operators' own."""
    options = dict(ray_options or {})
    cpus = options.get("num_cpus", max((s.resources.num_cpus for s in specs), default=0.0))
    gpus = options.get("num_gpus", max((s.resources.num_gpus for s in specs), default=0.0))
    return {"CPU": float(cpus or 0), "GPU": float(gpus or 0),
            **{k: float(v) for k, v in dict(options.get("resources") or {}).items()}}


def _same_kind(found: Target, wanted: Target) -> bool:
    return (found.minor, found.platform, found.machine) == \
        (wanted.minor, wanted.platform, wanted.machine)


def _opshub_version() -> str:
    return hub.__version__


def _runtime_requirements(scope: Scope) -> list[str]:
    """What ``import hub`` needs beyond the nodes' base, at this driver's versions."""
    base = scope.survey.base(scope.target)
    pins: dict[str, str] = {}
    for root in HUB_RUNTIME:
        pins.update(closure(root, driver_lookup, scope.target))
    return [f"{n}=={v}" for n, v in sorted(pins.items()) if n not in base]
