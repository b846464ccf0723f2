"""The env-runner actor: one `EpisodeWorker` in a Ray worker process.

`run(job)` is an async generator (a Ray streaming call): it yields the episode's id as
soon as the episode exists in the database, then its outcome. The driver therefore
knows which episode to resume if the actor dies at any later point. A second `run` of
a job the actor is still running (same `job.ticket`: the driver lost the stream while
the actor was unreachable for a moment) attaches to that episode instead of starting it
twice. All the actor's
episodes share its event loop, its database pool and its model clients; Ray runs up to
`max_concurrency` calls at once, which the driver sets above the actor's share.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from tycoon.envs.world.store import lease_owner
from tycoon.parallel.jobs import EpisodeJob, EpisodeOutcome
from tycoon.parallel.ray_runtime import import_ray
from tycoon.parallel.worker import EpisodeFactory, EpisodeWorker


class _JobRun:
    """One job running in this actor, whoever is listening to it."""

    def __init__(self, worker: EpisodeWorker, job: EpisodeJob) -> None:
        self.episode_id: int | None = None
        self.started = asyncio.Event()
        self.task = asyncio.ensure_future(worker.run(job, on_started=self._started))

    def _started(self, episode_id: int) -> None:
        self.episode_id = episode_id
        self.started.set()


class EnvRunner:
    """Runs the jobs the driver hands it (wrapped by `ray.remote` in `env_runner_class`)."""

    def __init__(self, factory: EpisodeFactory, max_in_flight: int | None = None) -> None:
        self.worker = EpisodeWorker(factory, max_in_flight=max_in_flight)
        self.runs: dict[str, _JobRun] = {}  # by job ticket

    def ready(self) -> dict[str, Any]:
        """Where the actor runs (its process id is what a test kills) and the name its
        episode leases carry (which the driver hands over if the actor dies)."""
        ray = import_ray()
        return {
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
            "lease_owner": lease_owner(),
        }

    def take_steps(self) -> int:
        """Steps committed since the previous call (for the driver's progress bar)."""
        return self.worker.take_steps()

    async def run(self, job: EpisodeJob) -> AsyncIterator[tuple[str, Any]]:
        run = self.runs.get(job.ticket) if job.ticket else None
        if run is None:
            run = _JobRun(self.worker, job)
            if job.ticket:
                self.runs[job.ticket] = run
        if run.episode_id is None:
            started = asyncio.ensure_future(run.started.wait())
            await asyncio.wait({run.task, started}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
        if run.episode_id is not None:
            yield ("started", run.episode_id)
        # shielded: a listener that goes away must not end the episode
        outcome: EpisodeOutcome = await asyncio.shield(run.task)
        self.runs.pop(job.ticket, None)
        yield ("finished", outcome.model_dump(mode="json"))

    async def close(self) -> None:
        await self.worker.close()


def env_runner_class(runner: type[EnvRunner] = EnvRunner) -> Any:
    """`runner` as a Ray actor class (Ray is imported here, not at import time)."""
    ray = import_ray()
    return ray.remote(runner)
