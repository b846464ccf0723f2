"""The work of one env-runner, without Ray: run jobs with the async runner, count steps.

An env-runner actor (`tycoon.parallel.actor`) wraps one `EpisodeWorker`; the in-process
engine of the trainer API uses one directly. Each holds one `WorldStore` (one connection
pool) and one client per model endpoint for all its episodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from tycoon.envs.world.store import LEASE_TTL_S, EpisodeBusy, WorldStore
from tycoon.parallel.endpoints import EndpointClients
from tycoon.parallel.jobs import EpisodeJob, EpisodeOutcome
from tycoon.rollout import EpisodeResult, run_episode_async
from tycoon.summary import summarise_episode

# How long a resumed episode waits for the lease of an actor that died. The driver hands
# a dead actor's leases over at once; only when it could not (its database was away) is
# the lease free by itself: at once on the actor's own host (its pid is gone), elsewhere
# once it has not been renewed for LEASE_TTL_S, so wait a little past that.
LEASE_WAIT_S = LEASE_TTL_S + 10.0


class EpisodeFactory(ABC):
    """Builds an episode's env and agent inside a worker; pickled to every actor, so it
    holds only what identifies them (names, settings, the database URL), never a
    connection."""

    db: str
    step_in_thread: bool = False

    @abstractmethod
    def make_env(self, store: WorldStore, job: EpisodeJob) -> Any: ...

    @abstractmethod
    def make_agent(self, store: WorldStore, job: EpisodeJob, clients: EndpointClients) -> Any: ...


def result_from_database(
    store: WorldStore | None,
    episode_id: int | None,
    seed: int | None,
    stopped: str,
    *,
    steps: int = 0,
    seconds: float = 0.0,
) -> EpisodeResult:
    """A result for an episode that did not finish normally, with its real figures (day,
    steps, money) read from the database when the episode exists."""
    summary = None
    if store is not None and episode_id is not None:
        try:
            summary = summarise_episode(store, episode_id)
        except Exception:  # StoreError, or the database failing: the result still goes back
            summary = None
    return EpisodeResult(
        episode_id=episode_id,
        seed=summary.seed if summary is not None else seed,
        steps=steps,
        seconds=seconds,
        stopped=stopped,
        summary=summary,
    )


class EpisodeWorker:
    """Runs any number of jobs concurrently on one event loop."""

    def __init__(self, factory: EpisodeFactory, *, max_in_flight: int | None = None) -> None:
        self.factory = factory
        self.store = WorldStore(factory.db)
        self.clients = EndpointClients(max_in_flight)
        self.steps = 0  # committed steps not yet reported (see take_steps)

    def take_steps(self) -> int:
        steps, self.steps = self.steps, 0
        return steps

    def _stepped(self, _info: dict[str, Any]) -> None:
        self.steps += 1

    async def run(
        self, job: EpisodeJob, on_started: Callable[[int], None] | None = None
    ) -> EpisodeOutcome:
        """Start (or continue, `job.resume`) one episode and run it to its end.

        `on_started(episode_id)` is called once the episode exists in the database. An
        error inside the episode ends only this episode: its result says why (`stopped`)
        and carries its figures from the database.
        """
        started = time.perf_counter()
        episode_id = job.resume

        def on_reset(new_id: int) -> None:
            nonlocal episode_id
            episode_id = new_id
            if on_started is not None:
                on_started(new_id)

        env = None
        try:
            env = self.factory.make_env(self.store, job)
            agent = self.factory.make_agent(self.store, job, self.clients)
            result = await self._run_when_free(job, env, agent, on_reset)
        except Exception as exc:  # one broken episode must not end the others
            result = result_from_database(
                self.store,
                episode_id,
                job.seed,
                f"{type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - started,
            )
        finally:
            if env is not None:
                with contextlib.suppress(Exception):  # closing must not lose the result
                    env.close()
        trajectory = None
        if job.trajectory and result.episode_id is not None:
            from tycoon.trainer.trajectory import build_trajectory

            try:
                trajectory = build_trajectory(self.store, result, job).model_dump(mode="json")
            except Exception as exc:  # the episode's outcome still goes back, saying why
                why = f"its trajectory could not be read: {type(exc).__name__}: {exc}"
                result = result.model_copy(update={"stopped": result.stopped or why})
        return EpisodeOutcome(job=job, result=result, trajectory=trajectory)

    async def _run_when_free(
        self, job: EpisodeJob, env: Any, agent: Any, on_reset: Callable[[int], None]
    ) -> Any:
        """Run the episode; a resumed one whose dead actor's process has not quite ended
        yet (its lease still looks held) is tried again for up to `LEASE_WAIT_S`. The
        lease is checked at reset, before anything runs, so a retry repeats nothing."""
        waited = 0.0
        while True:
            try:
                return await run_episode_async(
                    env,
                    agent,
                    seed=job.seed if job.resume is None else None,
                    resume=job.resume,
                    on_step=self._stepped,
                    on_reset=on_reset,
                    step_in_thread=self.factory.step_in_thread,
                )
            except EpisodeBusy:
                if job.resume is None or waited >= LEASE_WAIT_S:
                    raise
                await asyncio.sleep(1.0)
                waited += 1.0

    async def close(self) -> None:
        await self.clients.close()
        self.store.dispose()
