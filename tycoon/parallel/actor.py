"""The env-runner actor: one `EpisodeWorker` in a Ray worker process.

`run(job)` is an async generator (a Ray streaming call): it yields the episode's id as
soon as the episode exists in the database, then its outcome. The driver therefore
knows which episode to resume if the actor dies at any later point. All the actor's
episodes share its event loop, its database pool and its model clients; Ray runs up to
`max_concurrency` calls at once, which the driver sets above the actor's share.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from tycoon.parallel.jobs import EpisodeJob, EpisodeOutcome
from tycoon.parallel.ray_runtime import import_ray
from tycoon.parallel.worker import EpisodeFactory, EpisodeWorker


class EnvRunner:
    """Runs the jobs the driver hands it (wrapped by `ray.remote` in `env_runner_class`)."""

    def __init__(self, factory: EpisodeFactory, max_in_flight: int | None = None) -> None:
        self.worker = EpisodeWorker(factory, max_in_flight=max_in_flight)

    def ready(self) -> dict[str, Any]:
        """Where the actor runs (its process id is what a test kills)."""
        ray = import_ray()
        return {"pid": os.getpid(), "node_id": ray.get_runtime_context().get_node_id()}

    def take_steps(self) -> int:
        """Steps committed since the previous call (for the driver's progress bar)."""
        return self.worker.take_steps()

    async def run(self, job: EpisodeJob) -> AsyncIterator[tuple[str, Any]]:
        events: asyncio.Queue[int] = asyncio.Queue()
        task = asyncio.ensure_future(self.worker.run(job, on_started=events.put_nowait))
        waiter = asyncio.ensure_future(events.get())
        while True:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if waiter.done():
                yield ("started", waiter.result())
                waiter = asyncio.ensure_future(events.get())
                continue
            waiter.cancel()
            outcome: EpisodeOutcome = task.result()
            yield ("finished", outcome.model_dump(mode="json"))
            return

    async def close(self) -> None:
        await self.worker.close()


def env_runner_class() -> Any:
    """`EnvRunner` as a Ray actor class (Ray is imported here, not at import time)."""
    ray = import_ray()
    return ray.remote(EnvRunner)
