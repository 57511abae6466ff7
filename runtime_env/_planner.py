"""The planner: probe once, lock, plan, ship (issue #10 item 6).

    survey (the probe: one per node set, cached on disk)
      -> the nodes that can run the stage, and their target (Python, platform, accelerator)
      -> nothing to do when they already have everything
      -> one lock for the stage's operators together (cached; when it fails, the two
         operators whose requirements contradict and the package: PinConflict)
      -> the plan (pure, ``_plan.plan_env``), with the pinned uv's wheel for the target
         (the nodes fetch it to build with) -> the runtime_env (``_ship.ship``)

Hub questions go through :class:`hub.client.HubClient`; caches are passed in. One
planner serves a whole pipeline run: pip's configuration and the hub's project list are
read once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

import hub
from hub import ConfigError, OperatorSpec
from hub.client import HubClient
from hub.config import Settings, load_settings
from hub.offline import missing_package

from ._builds import Fetch, http_get, list_builds, tag_rank
from ._cache import LockCache
from ._conflicts import find_conflict
from ._errors import MirrorError, NotMirrored, ResolutionError
from ._lock import Lock
from ._locking import Builds, lock_request
from ._node_tool import NodeTool, tool_lock
from ._pip_config import PipSources
from ._plan import EnvPlan, Wheel, needs_env, own_pins, plan_env
from ._request import LockRequest
from ._requirements import HUB_RUNTIME, SELF, closure, driver_lookup, spec_requirements
from ._resolvers import Resolver, get_resolver
from ._ship import RuntimeEnvDict, ship
from ._sources import Cooldown, Sources
from ._survey import Survey, SurveyCache
from ._target import Target, target_flags

Ship = Literal["auto", "index", "py_modules"]
SHIP_MODES: tuple[Ship, ...] = ("auto", "index", "py_modules")


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
                 env: Mapping[str, str] = os.environ, ship: str = "auto",
                 pip: PipSources | None = None, fetch: Fetch = http_get) -> None:
        self.ship_mode = ship_mode(ship)
        self.settings = settings or load_settings()
        self.resolver = resolver or get_resolver()
        self.lock_cache = locks or LockCache(self.settings.cache_dir / "locks")
        self.surveys = surveys or SurveyCache(self.settings.cache_dir / "surveys")
        self.builds, self.env, self.fetch = builds, env, fetch
        self._client = client
        self._hub_names: frozenset[str] | None = None
        self._pip = pip  # pip's own sources: read from ``env`` when first needed
        self._tools: dict[tuple[Target, Sources], NodeTool] = {}

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
        """One lock for operators sharing an env, in one resolution over all their
        requirements; when there is none, PinConflict names two of them and the package."""
        _check_python(specs, scope.target)
        wanted = {s.name: spec_requirements(s, scope.target) for s in specs}
        union = sorted({line for lines in wanted.values() for line in lines})
        try:
            return self._resolve(union, scope, specs)
        except ResolutionError as exc:
            conflict = find_conflict(wanted, lambda reqs: self._lock(reqs, scope, specs)) \
                if len(wanted) > 1 and not isinstance(exc, NotMirrored) else None
            raise conflict or self._explained(exc, union, scope, specs) from None

    def plan(self, specs: Sequence[OperatorSpec], scope: Scope) -> EnvPlan | None:
        """What the env adds to the scope's nodes, or None when they have everything."""
        opshub = _opshub_version()
        if not needs_env(specs, scope.survey, scope.target, opshub):
            return None
        lock, runtime = self.lock(specs, scope), self.runtime_lock(specs, scope)
        plan = plan_env(specs, lock, scope.survey, target=scope.target,
                        install_options=self.sources(specs, scope, nodes=True).pip_args(),
                        wheels=self._wheels(specs, lock, scope), opshub_version=opshub,
                        runtime=runtime)
        if plan is not None and plan.requirements:  # found before any Ray work, not on a node
            plan = replace(plan, tool=self.node_tool(specs, scope))
        return plan

    def runtime_lock(self, specs: Sequence[OperatorSpec], scope: Scope) -> Lock:
        """What ``import hub`` needs on nodes that lack opshub (empty when they have it)."""
        if not scope.survey.missing({"opshub": _opshub_version()}):
            return Lock()
        return self._lock(_runtime_requirements(scope), scope, specs)

    def locks(self, specs: Sequence[OperatorSpec], scope: Scope) -> dict[str, Lock]:
        """Every lock an env of ``specs`` on the scope's nodes installs from, by role: the
        operators' (together), the runtime (``import hub``) and the pinned uv the nodes build
        with. `hub mirror` copies each of their wheels (issue #14)."""
        return {"operator": self.lock(specs, scope), "runtime": self.runtime_lock(specs, scope),
                "node-tool": tool_lock()}

    def node_tool(self, specs: Sequence[OperatorSpec], scope: Scope) -> NodeTool:
        """The pinned uv's wheel for the scope's nodes (they fetch it to build their env),
        from the stage's sources (offline: the hub's mirror), at the URL the nodes reach;
        found once per planner and target."""
        sources = replace(self.sources(specs, scope), hub_index=None)  # never a hub project
        key = (scope.target, sources)
        if key not in self._tools:
            try:
                found = NodeTool.find(scope.target, sources, self.fetch)
            except MirrorError:
                raise self._no_tool(specs, scope, sources) from None
            self._tools[key] = replace(found, url=self._worker_url(found.url))
        return self._tools[key]

    def offline(self, scope: Scope) -> bool:
        """Whether the hub is the only index: HUB_OFFLINE on this driver, or on a node of
        the scope (a cluster started with it: its nodes reach nothing else, issue #14)."""
        return self.settings.offline or scope.survey.offline

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

    def sources(self, specs: Sequence[OperatorSpec], scope: Scope | None = None, *,
                nodes: bool = False) -> Sources:
        """Where the locks of ``specs`` come from (the hub first when one is in use).

        Offline (see :meth:`offline`) the hub is the only source: its operators first, its
        mirror the only other index, PIP_* and the ``[hub]`` sources unused. ``nodes``: the
        hub as Ray workers reach it (HUB_WORKER_URL).
        """
        client = self._hub(specs)
        if scope is None or not self.offline(scope):
            return Sources.from_settings(self.settings, self.pip_sources(),
                                         client.index_url if client else None)
        if client is None:
            raise ConfigError("offline (HUB_OFFLINE) the hub is the only index, and no hub is "
                              "configured: set HUB_URL (or `url` in the config file)")
        hub, mirror = client.index_url, client.mirror_index_url
        if nodes:
            hub, mirror = self._worker_url(hub), self._worker_url(mirror)
        return Sources(mirror, hub_index=hub)

    def pip_sources(self) -> PipSources:
        """pip's own sources in this planner's environment (asked once per planner)."""
        if self._pip is None:
            self._pip = PipSources.read(self.env)
        return self._pip

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
            self._client = HubClient.from_settings(replace(self.settings, url=url))
        return self._client if (origins or self.settings.hub_configured) else None

    def _lock(self, requirements: Sequence[str], scope: Scope,
              specs: Sequence[OperatorSpec]) -> Lock:
        try:
            return self._resolve(requirements, scope, specs)
        except ResolutionError as exc:
            raise self._explained(exc, requirements, scope, specs) from None

    def _resolve(self, requirements: Sequence[str], scope: Scope,
                 specs: Sequence[OperatorSpec]) -> Lock:
        survey, target = scope.survey, scope.target
        base = survey.base(target)
        kept = {n: v for n, v in survey.common().items() if n not in base and n not in SELF}
        cooldown = Cooldown.from_settings(self.settings)
        names = self.hub_names(specs)
        request = LockRequest.create(requirements, base, target, self.sources(specs, scope),
                                     preferences=kept, cooldown=cooldown,
                                     spared=sorted(names) if cooldown else ())
        return lock_request(request, self.resolver, self.lock_cache, hub_names=names,
                            builds=self.builds)

    def _explained(self, exc: ResolutionError, requirements: Sequence[str], scope: Scope,
                   specs: Sequence[OperatorSpec]) -> ResolutionError:
        """Offline, a failed lock is a wheel the hub's mirror lacks: say which."""
        if not self.offline(scope) or isinstance(exc, NotMirrored):
            return exc
        return self._not_mirrored(specs, scope, requirements, exc)

    def _not_mirrored(self, specs: Sequence[OperatorSpec], scope: Scope,
                      requirements: Sequence[str], exc: ResolutionError) -> NotMirrored:
        """The one line for a lock the hub alone cannot satisfy: which package, for which
        target, and the `hub mirror` that fixes it."""
        client = self._hub(specs)
        assert client is not None  # offline sources need one
        package = missing_package(exc.stderr or str(exc)) or _first_unmirrored(
            client, requirements)
        return NotMirrored(package, scope.target.describe(), [s.name for s in specs],
                           client.url, target_flags(scope.target), detail=_tail(exc))

    def _no_tool(self, specs: Sequence[OperatorSpec], scope: Scope, sources: Sources
                 ) -> ResolutionError:
        """No wheel of the pinned uv for the target: offline the mirror lacks it."""
        (name, version), = tool_lock().pins
        what = f"{name} {version} (the tool node envs are built with)"
        if not self.offline(scope):
            return ResolutionError(
                f"no source offers a wheel of {what} for {scope.target.describe()} with one of "
                f"its pinned sha256 (searched: {sources.describe()}) — let this driver reach "
                "an index that has it (PyPI does), or add a find-links folder holding it")
        client = self._hub(specs)
        assert client is not None  # offline sources need one
        return NotMirrored(what, scope.target.describe(), [s.name for s in specs],
                           client.url, target_flags(scope.target))

    def _wheels(self, specs: Sequence[OperatorSpec], lock: Lock, scope: Scope
                ) -> dict[str, Wheel]:
        """The hub wheels the env installs by URL, each the best for the target: the
        operators' own (fetched from the hub, or an installed operator's version as the hub
        publishes it, unless shipped as files) and hub projects the lock pins."""
        names = self.hub_names(specs)
        pinned = {n: v for n, v in lock.pins if n in names}
        fetched: dict[str, str] = {canonicalize_name(s.origin.distribution): s.origin.version
                                   for s in specs if s.origin is not None}
        own = {} if self.ship_mode == "py_modules" else own_pins(specs)
        wheels: dict[str, Wheel] = {}
        for dist, version in scope.survey.missing({**own, **pinned, **fetched}).items():
            found = self._published(specs, dist, version, scope.target)
            if found is not None:
                wheels[dist] = found
            elif dist in pinned or dist in fetched or self.ship_mode == "index":
                raise ConfigError(
                    f"{dist} {version} is not on the hub at {self._hub_url(specs)} (yanked "
                    "or never published); publish it with `hub publish`")
        return wheels

    def _published(self, specs: Sequence[OperatorSpec], dist: str, version: str,
                   target: Target) -> Wheel | None:
        """The release's wheel for ``target`` on the hub (None: not published there)."""
        client = self._hub(specs)
        found = client.release_wheel(dist, version, rank=lambda name: tag_rank(name, target),
                                     target=target.describe()) if client else None
        if found is None:
            return None
        return Wheel(dist, version, self._worker_url(str(found["url"])), str(found["sha256"]))

    def _hub_url(self, specs: Sequence[OperatorSpec]) -> str:
        client = self._hub(specs)
        return client.url if client else self.settings.url

    def _worker_url(self, url: str) -> str:
        """A hub URL as the workers reach it (``HUB_WORKER_URL``)."""
        here, there = self.settings.url.rstrip("/"), self.settings.worker_url
        return there.rstrip("/") + url[len(here):] if there and url.startswith(here) else url


def ship_mode(value: str) -> Ship:
    """How an installed operator's own code reaches the nodes: ``index`` (its wheel from
    the hub, which must have it), ``py_modules`` (its files), or ``auto`` (the hub's wheel
    when the hub has that version, else its files)."""
    for mode in SHIP_MODES:
        if mode == value:
            return mode
    raise ConfigError(f"ship={value!r} is unknown; use one of {', '.join(SHIP_MODES)}")


def demands(specs: Sequence[OperatorSpec], ray_options: Mapping[str, Any] | None
            ) -> dict[str, float]:
    """The Ray resources a stage asks of a node: its options', else the operators' own."""
    options = dict(ray_options or {})
    cpus = options.get("num_cpus", max((s.resources.num_cpus for s in specs), default=0.0))
    gpus = options.get("num_gpus", max((s.resources.num_gpus for s in specs), default=0.0))
    return {"CPU": float(cpus or 0), "GPU": float(gpus or 0),
            **{k: float(v) for k, v in dict(options.get("resources") or {}).items()}}


def _check_python(specs: Sequence[OperatorSpec], target: Target) -> None:
    """A hub operator's Requires-Python must admit the target's Python."""
    for spec in specs:
        wanted = spec.origin.requires_python if spec.origin else None
        try:
            fits = not wanted or SpecifierSet(wanted).contains(target.python_version, True)
        except InvalidSpecifier:
            fits = True  # the hub validated it on upload; an installer would ignore it too
        if not fits:
            assert spec.origin is not None
            raise ConfigError(
                f"operator {spec.name!r} ({spec.origin.distribution} {spec.origin.version} "
                f"from the hub) requires Python {wanted}, and the stage's nodes run "
                f"{target.describe()} — give the stage resources= that select nodes with "
                "a Python it supports, or use a release of it that supports this one")


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


def _first_unmirrored(client: HubClient, requirements: Sequence[str]) -> str | None:
    """The first requirement the mirror has no file of (when uv's message named none)."""
    from packaging.requirements import Requirement

    for line in requirements:
        name = Requirement(line).name
        if not client.mirrored(name) and canonicalize_name(name) not in client.project_names():
            return canonicalize_name(name)
    return None


def _tail(exc: ResolutionError) -> str:
    lines = [ln.strip() for ln in (exc.stderr or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
