"""The driver of a Ray rollout: hands out episodes, streams results, survives dead actors.

Jobs wait in one queue in the driver. Each env-runner actor holds at most `concurrency`
episodes at once; whenever one of its episodes ends, the driver hands it the next job,
so a fast actor takes more. Outcomes stream back as episodes end (`stream` is an async
generator), and one progress bar in the driver counts episodes, steps per second,
failures and live actors.

When an actor dies (its process killed, its node gone), the driver hands its episode
leases over (`WorldStore.hand_over_leases`: free at once, on any host, and fenced against
the old actor should it still live), and each of its episodes is handed to another actor
and continues from its last committed step (`resume`: the env reloads the world, the LLM
agent its conversation). An episode the actor had created but not yet reported is found
by its lease and continued too, never started twice. A replacement actor is started. A
job that was on `max_deaths` dying actors is reported as failed instead of handed out
again, and its last try runs alone on an actor, so an episode that keeps killing its
actor cannot take the others down with it.

An actor Ray reports unavailable (`ActorUnavailableError`: unreachable for a moment, the
task may still run) is not dead until it fails to answer `UNREACHABLE_PINGS` pings; while
it answers, the driver listens to the same job on it again (the actor attaches to the
running episode rather than starting it twice), at most `MAX_REATTACH` times per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from tycoon.envs.world.store import WorldStore
from tycoon.parallel.actor import EnvRunner, env_runner_class
from tycoon.parallel.jobs import EpisodeJob, EpisodeOutcome
from tycoon.parallel.ray_runtime import ParallelRolloutError, import_ray
from tycoon.parallel.worker import EpisodeFactory, result_from_database

PROGRESS_SECONDS = 0.5  # how often the driver asks the actors for their step counts
# how long the driver waits for an actor's step count: an actor whose node is gone but
# not yet declared dead answers nothing, and a progress figure must never hold a rollout
COUNT_TIMEOUT_S = 10.0
# an actor Ray calls unavailable is pinged this often, this far apart, before it counts
# as dead; a job is listened to again on the same actor at most MAX_REATTACH times
UNREACHABLE_PINGS = 3
UNREACHABLE_PING_S = 5.0
MAX_REATTACH = 5


class ActorLost(ParallelRolloutError):
    """An env-runner stopped answering (its process or node died)."""


@dataclass
class _Runner:
    number: int
    handle: Any
    pid: int
    node_id: str
    lease_owner: str = ""  # the name on its episode leases
    running: set[int] = field(default_factory=set)  # job indexes
    alone: bool = False  # running a job's last try, which gets the actor to itself
    alive: bool = True
    # once dead: the episodes it had created but not reported, by seed (found by lease)
    orphans: dict[int, list[int]] | None = None


class RolloutProgress:
    """One bar over episodes: steps, steps per second, failures, actors."""

    def __init__(self, total: int, *, enabled: bool, desc: str) -> None:
        self.bar = tqdm(total=total, unit="ep", desc=desc, disable=not enabled, dynamic_ncols=True)
        self.steps = 0
        self.failed = 0
        self.actors = 0
        self.started = time.perf_counter()

    def update(self, *, steps: int = 0, finished: int = 0, failed: int = 0) -> None:
        self.steps += steps
        self.failed += failed
        if finished:
            self.bar.update(finished)
        rate = self.steps / max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix(
            steps=self.steps, steps_per_s=f"{rate:.1f}", failed=self.failed, actors=self.actors
        )

    def close(self) -> None:
        self.update()
        self.bar.close()


class RayRollout:
    """A pool of env-runner actors over one database; reusable for many batches.

    `concurrency` is the number of episodes each actor runs at once. `max_in_flight`
    caps each actor's requests in flight per model endpoint. `runner` is the actor's
    class (`EnvRunner`, or a subclass). Use as an async context
    manager, or call `start()` and `close()`.
    """

    def __init__(
        self,
        factory: EpisodeFactory,
        *,
        actors: int,
        concurrency: int,
        max_deaths: int = 3,
        actor_cpus: float = 1.0,
        max_in_flight: int | None = None,
        start_timeout: float = 120.0,
        progress: bool = True,
        desc: str = "rollout",
        runner: type[EnvRunner] = EnvRunner,
    ) -> None:
        if actors < 1:
            raise ValueError(f"Expected at least 1 actor, got {actors}")
        if concurrency < 1:
            raise ValueError(f"Expected a concurrency of at least 1, got {concurrency}")
        if max_deaths < 1:
            raise ValueError(f"Expected max_deaths of at least 1, got {max_deaths}")
        self.factory = factory
        self.actors = actors
        self.concurrency = concurrency
        self.max_deaths = max_deaths
        self.actor_cpus = actor_cpus
        self.max_in_flight = max_in_flight
        self.start_timeout = start_timeout
        self.progress = progress
        self.desc = desc
        self.runner = runner  # the actor's class (a test's subclass)
        self.runners: list[_Runner] = []
        self.replacements_left = actors * max_deaths
        self._numbers = 0
        self._starting: set[asyncio.Task[_Runner | None]] = set()
        self._store: WorldStore | None = None
        self.deaths: list[tuple[float, int]] = []  # (when, runner number), for benchmarks
        self.unreachable: list[tuple[float, int]] = []  # actors that answered again
        self.handed_over: list[int] = []  # episodes whose leases a dead actor held
        self.adopted: list[int] = []  # of those, created but never reported
        self.start_error = ""
        self._tickets = 0
        self._known: set[int] = set()  # episodes reported by actors

    # -- actors -------------------------------------------------------------------------

    async def start(self) -> RayRollout:
        started = await asyncio.gather(*(self._start_runner() for _ in range(self.actors)))
        self.runners = [runner for runner in started if runner is not None]
        if not self.runners:
            raise ActorLost(
                f"none of {self.actors} env-runner actor(s) started: {self.start_error}"
            )
        return self

    async def __aenter__(self) -> RayRollout:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _start_runner(self) -> _Runner | None:
        ray = import_ray()
        number = self._numbers
        self._numbers += 1
        handle = (
            env_runner_class(self.runner)
            .options(
                num_cpus=self.actor_cpus,
                max_concurrency=self.concurrency + 8,  # room for progress calls
                scheduling_strategy="SPREAD",
                name=None,
            )
            .remote(self.factory, self.max_in_flight)
        )
        try:
            info = await asyncio.wait_for(handle.ready.remote(), self.start_timeout)
        except (TimeoutError, ray.exceptions.RayError, asyncio.CancelledError) as exc:
            lines = str(exc).strip().splitlines()
            self.start_error = (
                f"no CPU free for it within {self.start_timeout:g}s"
                if isinstance(exc, TimeoutError)
                else lines[-1]
                if lines
                else type(exc).__name__
            )
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return None
        return _Runner(
            number, handle, int(info["pid"]), str(info["node_id"]), str(info["lease_owner"])
        )

    def _replace(self, runner: _Runner) -> None:
        if not runner.alive:
            return
        runner.alive = False
        self.deaths.append((time.perf_counter(), runner.number))
        ray = import_ray()
        with contextlib.suppress(Exception):  # make sure no second writer lingers
            ray.kill(runner.handle, no_restart=True)
        self.runners.remove(runner)
        if self.replacements_left > 0:
            self.replacements_left -= 1
            self._starting.add(asyncio.ensure_future(self._start_runner()))

    async def close(self) -> None:
        ray = import_ray()
        for task in self._starting:
            task.cancel()
        for runner in self.runners:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.handle.close.remote(), 10)
            with contextlib.suppress(Exception):
                ray.kill(runner.handle, no_restart=True)
        self.runners = []
        if self._store is not None:
            self._store.dispose()

    # -- jobs ---------------------------------------------------------------------------

    def _last_try(self, job: EpisodeJob) -> bool:
        return self.max_deaths > 1 and job.deaths >= self.max_deaths - 1

    def _pick(self, job: EpisodeJob) -> _Runner | None:
        if self._last_try(job):
            idle = [r for r in self.runners if not r.running]
            return idle[0] if idle else None
        free = [r for r in self.runners if not r.alone and len(r.running) < self.concurrency]
        return min(free, key=lambda r: len(r.running)) if free else None

    async def _drive(self, runner: _Runner, job: EpisodeJob) -> EpisodeOutcome:
        ray = import_ray()
        while True:
            try:
                async for ref in runner.handle.run.remote(job):
                    kind, value = await ref
                    if kind == "started":
                        job.resume = int(value)  # from here on, a new try continues it
                        self._known.add(job.resume)
                    else:  # with the driver's own record of the job (deaths, ...)
                        outcome = EpisodeOutcome.model_validate(value)
                        return outcome.model_copy(update={"job": job})
                raise ActorLost(
                    f"actor {runner.number} ended episode job {job.index} without a result"
                )
            except ray.exceptions.ActorUnavailableError as exc:
                # not dead yet: listen to the job again while the actor answers pings
                if job.unreachable >= MAX_REATTACH or not await self._answers(runner):
                    raise ActorLost(
                        f"actor {runner.number} (pid {runner.pid}) stayed unreachable: {exc}"
                    ) from exc
                job.unreachable += 1
                self.unreachable.append((time.perf_counter(), runner.number))
            except ray.exceptions.RayActorError as exc:
                raise ActorLost(f"actor {runner.number} (pid {runner.pid}) died: {exc}") from exc

    async def _answers(self, runner: _Runner) -> bool:
        """Whether an actor Ray called unavailable answers a ping, tried a few times; one
        Ray knows is dead answers no at once (its episodes move without waiting)."""
        ray = import_ray()
        for ping in range(UNREACHABLE_PINGS):
            if not runner.alive:
                return False
            try:
                await asyncio.wait_for(runner.handle.ready.remote(), UNREACHABLE_PING_S)
                return True
            except ray.exceptions.ActorDiedError:
                return False
            except Exception:  # unreachable again, or a timeout: ping again, then give up
                if ping + 1 < UNREACHABLE_PINGS:
                    await asyncio.sleep(UNREACHABLE_PING_S)
        return False

    def _database(self) -> WorldStore:
        if self._store is None:
            self._store = WorldStore(self.factory.db)
        return self._store

    async def _take_over(self, runner: _Runner) -> None:
        """Free a dead actor's leases, once, and note the episodes it created but never
        reported (its orphans), so that its jobs continue them instead of starting anew."""
        if runner.orphans is not None or not runner.lease_owner:
            return
        runner.orphans = {}
        store = self._database()
        try:
            held = await asyncio.to_thread(store.hand_over_leases, runner.lease_owner)
            unknown = [episode for episode in held if episode not in self._known]
            seeds = await asyncio.to_thread(_seeds_of, store, unknown) if unknown else {}
        except Exception as exc:  # the database is away: resumes wait out the lease TTL
            print(
                f"tycoon: warning: could not hand over the leases of actor {runner.number} "
                f"({type(exc).__name__}: {exc}); its episodes wait for the lease to expire",
                file=sys.stderr,
            )
            return
        self.handed_over.extend(held)
        for episode in unknown:
            runner.orphans.setdefault(seeds[episode], []).append(episode)

    def _adopt_orphan(self, runner: _Runner, job: EpisodeJob) -> None:
        """A lost job that never reported its episode continues the one its actor made."""
        if job.resume is not None or job.seed is None or not runner.orphans:
            return
        mine = runner.orphans.get(job.seed)
        if mine:
            job.resume = mine.pop(0)
            self._known.add(job.resume)
            self.adopted.append(job.resume)

    def _failed(self, job: EpisodeJob, why: str) -> EpisodeOutcome:
        result = result_from_database(self._database(), job.resume, job.seed, why)
        return EpisodeOutcome(job=job, result=result)

    async def _settle(
        self,
        task: asyncio.Task[EpisodeOutcome],
        runner: _Runner,
        job: EpisodeJob,
        queue: deque[EpisodeJob],
    ) -> EpisodeOutcome | None:
        """The outcome of a job whose task ended: its result, a failure to report, or
        None when the job goes back in the queue (its actor died)."""
        try:
            return task.result()
        except ActorLost as exc:
            return await self._lost(runner, job, exc, queue)
        except Exception as exc:  # e.g. a result that did not arrive whole
            return self._failed(job, f"{type(exc).__name__}: {exc}")

    async def _lost(
        self, runner: _Runner, job: EpisodeJob, exc: Exception, queue: deque[EpisodeJob]
    ) -> EpisodeOutcome | None:
        self._replace(runner)
        await self._take_over(runner)
        self._adopt_orphan(runner, job)
        job.deaths += 1
        if job.deaths >= self.max_deaths:
            return self._failed(
                job,
                f"its actor died {job.deaths} time(s) while running it (last: {exc}); not retried",
            )
        queue.appendleft(job)  # continue it before starting new ones
        return None

    async def stream(self, jobs: Iterable[EpisodeJob]) -> AsyncIterator[EpisodeOutcome]:
        """Run every job; yield each outcome as its episode ends (in completion order)."""
        queue = deque(jobs)
        for job in queue:
            if not job.ticket:
                self._tickets += 1
                job.ticket = str(self._tickets)
            if job.resume is not None:  # never taken for a dead actor's orphan
                self._known.add(job.resume)
        bar = RolloutProgress(len(queue), enabled=self.progress, desc=self.desc)
        running: dict[asyncio.Task[EpisodeOutcome], tuple[_Runner, EpisodeJob]] = {}
        ticker: asyncio.Task[Any] | None = None
        try:
            while queue or running:
                self._dispatch(queue, running)
                if queue and not running and not self._starting:
                    for job in queue:  # no actor left and none coming
                        bar.update(finished=1, failed=1)
                        yield self._failed(job, "no env-runner actor is left to run it")
                    return
                if ticker is None or ticker.done():
                    ticker = asyncio.ensure_future(self._poll_steps())
                waiting = set(running) | self._starting | {ticker}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                bar.actors = len(self.runners)
                if ticker in done:
                    bar.update(steps=ticker.result())
                for task in done & self._starting:
                    self._starting.discard(task)
                    if not task.cancelled() and task.result() is not None:
                        self.runners.append(task.result())
                for task in done & set(running):
                    runner, job = running.pop(task)
                    runner.running.discard(job.index)
                    outcome = await self._settle(task, runner, job, queue)
                    if runner.alone and not runner.running:
                        runner.alone = False
                    if outcome is None:
                        continue
                    bar.update(finished=1, failed=int(outcome.result.stopped is not None))
                    yield outcome
            if ticker is not None and ticker.done():
                bar.update(steps=ticker.result())
            elif ticker is not None:
                ticker.cancel()  # asleep, most likely: nothing counted yet
            ticker = None
            bar.update(steps=await self._collect_steps())  # the last steps, before the bar closes
        finally:
            for task in running:
                task.cancel()
            if ticker is not None:
                ticker.cancel()
            bar.close()

    def _dispatch(
        self,
        queue: deque[EpisodeJob],
        running: dict[asyncio.Task[EpisodeOutcome], tuple[_Runner, EpisodeJob]],
    ) -> None:
        waiting: list[EpisodeJob] = []
        while queue:
            job = queue.popleft()
            runner = self._pick(job)
            if runner is None:
                waiting.append(job)
                if not self._last_try(job):
                    break  # every actor is full
                continue
            runner.running.add(job.index)
            runner.alone = self._last_try(job)
            running[asyncio.ensure_future(self._drive(runner, job))] = (runner, job)
        queue.extendleft(reversed(waiting))

    async def _poll_steps(self) -> int:
        await asyncio.sleep(PROGRESS_SECONDS)
        return await self._collect_steps()

    async def _collect_steps(self) -> int:
        async def count(runner: _Runner) -> int:
            return await asyncio.wait_for(runner.handle.take_steps.remote(), COUNT_TIMEOUT_S)

        counts = await asyncio.gather(*map(count, self.runners), return_exceptions=True)
        return sum(count for count in counts if isinstance(count, int))


def _seeds_of(store: WorldStore, episodes: list[int]) -> dict[int, int]:
    from sqlalchemy import select

    from tycoon.envs.world.schema import Episode

    with store.session() as session:
        rows = session.execute(select(Episode.id, Episode.seed).where(Episode.id.in_(episodes)))
        return {episode: seed for episode, seed in rows}
