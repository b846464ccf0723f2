"""The in-process engine: the same `stream(jobs)` as `RayRollout`, on this event loop.

For a trainer that runs without Ray, or inside a Ray task of its own. No actor can die
here, so there is nothing to hand out again; an episode's error ends only that episode.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from tycoon.parallel.engine import RolloutProgress
from tycoon.parallel.jobs import EpisodeJob, EpisodeOutcome
from tycoon.parallel.worker import EpisodeFactory, EpisodeWorker


class LocalRollout:
    """`concurrency` episodes in flight on this process's event loop."""

    def __init__(
        self,
        factory: EpisodeFactory,
        *,
        concurrency: int,
        max_in_flight: int | None = None,
        progress: bool = False,
        desc: str = "rollout",
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"Expected a concurrency of at least 1, got {concurrency}")
        self.factory = factory
        self.concurrency = concurrency
        self.max_in_flight = max_in_flight
        self.progress = progress
        self.desc = desc
        self.worker: EpisodeWorker | None = None

    async def start(self) -> LocalRollout:
        self.worker = EpisodeWorker(self.factory, max_in_flight=self.max_in_flight)
        return self

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.close()
            self.worker = None

    async def stream(self, jobs: Iterable[EpisodeJob]) -> AsyncIterator[EpisodeOutcome]:
        worker = self.worker
        assert worker is not None, "call start() first"
        pending = list(jobs)
        bar = RolloutProgress(len(pending), enabled=self.progress, desc=self.desc)
        slots = asyncio.Semaphore(self.concurrency)

        async def run(job: EpisodeJob) -> EpisodeOutcome:
            async with slots:
                return await worker.run(job)

        tasks = [asyncio.ensure_future(run(job)) for job in pending]
        try:
            for next_done in asyncio.as_completed(tasks):
                outcome = await next_done
                bar.update(
                    steps=worker.take_steps(),
                    finished=1,
                    failed=int(outcome.result.stopped is not None),
                )
                yield outcome
        finally:
            for task in tasks:
                task.cancel()
            bar.close()
