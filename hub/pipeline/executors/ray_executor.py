"""The Ray executor: Ray tasks over chunks for functions, an actor pool for classes.

Only the driver feeds work (there is no read task), so a stage's workers may
take every CPU without starving their own input (ray#44687).
"""

from __future__ import annotations

import functools
import pickle
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from ..._exceptions import PipelineError
from ..._operator import Operator
from .._stage import Outcome, Stage, run_chunk
from ._base import Chunk, ChunkResult, Executor, Window
from .ray_actors import ActorPool
from .ray_common import Job, RayBackend, connect

MAX_DEFAULT_WORKERS = 16
# Chunks in flight per worker: 4 keeps workers fed while the driver is busy (measured
# 1.2-1.6x the throughput of 2 on a loaded 2-core machine) and still bounds memory.
IN_FLIGHT_PER_WORKER = 4


class RayExecutor(Executor):
    """Function stages as Ray tasks over chunks; class stages on a pool of actors.

    Resources come from the operator's metadata (``spec.resources``), overridden
    by the stage's ``num_cpus``/``num_gpus``/``memory``; the runtime_env from
    ``runtime_env.stage_runtime_env`` unless the stage overrides or disables it.
    At most ``IN_FLIGHT_PER_WORKER * num_worker`` chunks are in flight.
    """

    name = "ray"
    parallel = True
    distributed = True
    default_chunk_size = 256

    def __init__(self, num_worker: int | None = None) -> None:
        super().__init__(num_worker)
        self.ray = connect()
        self._backend: _Tasks | ActorPool | None = None

    def execute(self, stage: Stage, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        options = ray_options(stage)
        workers = self.num_worker or default_workers(self.ray, options)
        backend = ActorPool(stage, options, workers) if stage.is_class else _Tasks(stage, options)
        self._backend = backend
        window = Window(backend.submit, backend.result, backend.first_done,
                        IN_FLIGHT_PER_WORKER * workers)
        try:
            yield from window.run(chunks, stage.options.ordered)
        finally:
            self.peak_in_flight = window.peak
            self.close()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def ray_options(stage: Stage) -> dict[str, Any]:
    """``.options(...)`` for the stage's tasks or actors: resources and runtime_env."""
    fn, opts = stage.fn, stage.options
    options: dict[str, Any] = (
        fn.spec.resources.to_ray() if isinstance(fn, Operator) else {"num_cpus": 1}
    )
    for key in ("num_cpus", "num_gpus", "memory"):
        if getattr(opts, key) is not None:
            options[key] = getattr(opts, key)
    if opts.resources:
        options["resources"] = dict(opts.resources)
    env = stage_env(stage)
    if env:
        options["runtime_env"] = env
    return options


def stage_env(stage: Stage) -> dict[str, Any] | None:
    """The stage's runtime_env: the override, none, or the hub operator's own."""
    env = stage.options.runtime_env
    if env is False:
        return None
    if env is not None or not isinstance(stage.fn, Operator):
        return env
    try:
        from runtime_env import stage_runtime_env
    except ImportError as exc:
        raise PipelineError(
            f"{stage.name}: cannot build the operator's runtime_env ({exc}); "
            "pass runtime_env=False to run it in the workers' own environment"
        ) from exc
    result: dict[str, Any] | None = stage_runtime_env(stage.fn.spec)
    return result


def default_workers(ray: Any, options: dict[str, Any]) -> int:
    """As many workers as the cluster's CPUs (and GPUs) hold at once, 1..16."""
    total = ray.cluster_resources()
    counts = [
        int(total.get(resource, 0) // options[key])
        for key, resource in (("num_cpus", "CPU"), ("num_gpus", "GPU"))
        if options.get(key)
    ]
    return max(1, min([MAX_DEFAULT_WORKERS, *counts]))


class _Tasks(RayBackend):
    """Each chunk is one Ray task (retried when its worker process dies).

    The stage travels pickled once, as bytes with a key: a worker process
    unpickles and builds it once per key (an ``ObjectRef`` argument would cost
    an object-store fetch per task, about 3x the time of a trivial chunk).
    """

    def __init__(self, stage: Stage, options: dict[str, Any]) -> None:
        super().__init__(stage)
        self.remote = _remote_run_chunk().options(**options, max_retries=self.retries)
        self.key, self.blob = uuid.uuid4().hex, self.ray.cloudpickle.dumps(stage)
        self.pending: dict[Any, Job] = {}

    def submit(self, chunk: Chunk) -> Job:
        job = Job(chunk[0], len(chunk[1]), self.remote.remote(self.key, self.blob, chunk[1]))
        self.pending[job.ref] = job
        return job

    def result(self, job: Job) -> list[Outcome]:
        self.pending.pop(job.ref, None)
        return self.fetch(job)

    def close(self) -> None:
        for ref in self.pending:
            self.ray.cancel(ref)
        self.pending.clear()


_STAGES: dict[str, Stage] = {}  # in a worker process: the stages it has built, by key
_MAX_STAGES = 16


def run_shipped_chunk(key: str, blob: bytes, items: list[Any]) -> list[Outcome]:
    """The task body: the stage from this process's cache (or unpickled once), run."""
    stage = _STAGES.get(key)
    if stage is None:
        if len(_STAGES) >= _MAX_STAGES:
            _STAGES.pop(next(iter(_STAGES)))
        stage = _STAGES[key] = pickle.loads(blob)
    return run_chunk(stage, items)


@functools.cache
def _remote_run_chunk() -> Any:
    import ray

    return ray.remote(run_shipped_chunk)

