"""The one episode loop, and many episodes at once in one process.

`run_episode_async` runs one episode of any agent: it is what `tycoon run`, `tycoon
rollout`, `tycoon eval`, the trainer API and the Ray actors (`tycoon.parallel`) all go
through. The agent is driven through the one protocol of `tycoon.agents.base`
(`AsyncAgent`); synchronous scripted agents run through `SyncAgentAdapter`
(`as_async_agent` picks it). The runner is the agent's only link to the database: it
journals the agent's model calls (`tycoon.agent_records.StoreCallJournal`) and, on
resume, loads what the agent saw and asked (`load_history`) for its `restore`.

Episodes run as asyncio tasks; while one waits for its model, the others step. An env
step is a synchronous SQL transaction of about a millisecond, run inline on the event
loop (handing it to a thread would cost more than it saves). Every step commits, and
LLM calls are recorded before their tool call reaches the env, so an episode stopped
for any reason (retries exhausted, a killed process) resumes with `resume=episode_id`.
An env whose step may block on the network (LLM-written supplier replies) is stepped in
a worker thread instead (`step_in_thread`).

Progress goes to a `RolloutListener` (a progress bar). Episodes spread over processes
and machines run on Ray actors, each running this runner (`tycoon.parallel`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

from tycoon.agent_records import StoreCallJournal, load_history
from tycoon.agents.adapters import SyncAgentAdapter, as_async_agent
from tycoon.agents.base import AsyncAgent
from tycoon.agents.llm.client import LlmError
from tycoon.summary import EpisodeSummary, summarise_episode


class RolloutListener:
    """What a rollout reports as it goes (indexes are positions in its job list)."""

    def episode_started(self, index: int, episode_id: int) -> None:
        """The episode exists in the database (from here on it can be resumed by id)."""

    def stepped(self) -> None:
        """One env step was committed."""

    def episode_finished(self, index: int, result: EpisodeResult) -> None:
        """The episode ended, hit a limit or stopped early (`result.stopped`)."""

    def close(self) -> None:
        """The rollout is over."""


class ProgressBar(RolloutListener):
    """A bar over episodes with the step count and steps per second."""

    def __init__(self, total: int, *, enabled: bool = True, desc: str = "rollout") -> None:
        self.enabled = enabled
        self.bar = tqdm(total=total, unit="ep", desc=desc, disable=not enabled, dynamic_ncols=True)
        self.steps = 0
        self.started = self.shown = time.perf_counter()

    def add_steps(self, count: int) -> None:
        self.steps += count
        now = time.perf_counter()
        if self.enabled and now - self.shown > 0.5:
            self.shown = now
            self._postfix(now)

    def stepped(self) -> None:
        self.add_steps(1)

    def episode_finished(self, index: int, result: EpisodeResult) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self._postfix(time.perf_counter())
        self.bar.close()

    def _postfix(self, now: float) -> None:
        rate = self.steps / max(now - self.started, 1e-9)
        self.bar.set_postfix(steps=self.steps, steps_per_s=f"{rate:.1f}")


class EpisodeResult(BaseModel):
    """What one run of one episode did. `stopped` says why it stopped early, if it did."""

    episode_id: int | None
    seed: int | None
    steps: int  # steps run by this invocation
    llm_calls: int = 0
    prefix_reuse: float | None = None  # mean over the episode's LLM calls
    seconds: float
    stopped: str | None = None
    summary: EpisodeSummary | None = None

    @property
    def resumable(self) -> bool:
        return self.summary is not None and self.summary.status == "running"


async def run_episode_async(
    env: Any,
    agent: Any,
    *,
    seed: int | None = None,
    resume: int | None = None,
    max_steps: int | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    on_reset: Callable[[int], None] | None = None,
    step_in_thread: bool = False,
) -> EpisodeResult:
    """Reset (or resume episode `resume`) and step until it ends, `max_steps` steps have
    run, or the model cannot be reached (then `stopped` says why; the episode resumes).

    `agent` is an `AsyncAgent` or a synchronous `Agent`. `on_reset(episode_id)` is called
    once the episode exists; `on_step(info)` after every step. `step_in_thread` runs
    each env step in a worker thread, for envs whose step can wait on the network (the
    event loop keeps serving the other episodes). A resumed episode that had already
    ended runs no step and does not rebuild its agent."""
    agent = as_async_agent(agent, env)
    _require_every_step_committed(env, agent)
    started = time.perf_counter()
    options = {"episode_id": resume} if resume is not None else None
    observation, info = env.reset(seed=seed, options=options)
    unwrapped = env.unwrapped
    store, episode_id = unwrapped.store, unwrapped.episode_id
    if on_reset is not None:
        on_reset(episode_id)
    steps, stopped = 0, None
    done = info.get("status", "running") != "running"
    try:
        if not done:
            pending = _begin(
                agent, store, episode_id, observation, info, resumed=resume is not None
            )
        # Output tokens only matter to an env that bills them; handing them over dirties
        # the episode row, an extra ORM flush on every step (~0.4 ms) where nothing reads them.
        bills_tokens = bool(getattr(getattr(unwrapped, "config", None), "token_billing", True))
        while not done and (max_steps is None or steps < max_steps):
            decision = pending if pending is not None else await agent.decide()
            pending = None
            tokens = getattr(decision, "completion_tokens", 0)
            if tokens and bills_tokens:
                unwrapped.record_output_tokens(tokens)
            if step_in_thread:
                stepped = await asyncio.to_thread(env.step, decision.action)
            else:
                stepped = env.step(decision.action)
            observation, _reward, terminated, truncated, info = stepped
            agent.observe(decision, observation, info)
            steps += 1
            if on_step is not None:
                on_step(info)
            done = terminated or truncated
    except LlmError as exc:
        stopped = str(exc)
    summary = summarise_episode(store, episode_id)
    return EpisodeResult(
        episode_id=episode_id,
        seed=summary.seed,
        steps=steps,
        llm_calls=getattr(agent, "calls", 0),
        prefix_reuse=getattr(agent, "mean_prefix_reuse", None),
        seconds=time.perf_counter() - started,
        stopped=stopped,
        summary=summary,
    )


def _require_every_step_committed(env: Any, agent: AsyncAgent) -> None:
    """An agent that records its model calls (any but a scripted one) writes them as it
    makes them, apart from the step's transaction: with steps left uncommitted (durability
    "day" or "episode") SQLite waits on that open transaction ("database is locked"), and
    a crash keeps calls whose steps are lost, so the resume would not be exact."""
    durability = getattr(env.unwrapped, "durability", "step")
    if durability != "step" and not isinstance(agent, SyncAgentAdapter):
        raise ValueError(
            "Expected durability 'step' for an agent that records its model calls (they "
            f"are committed apart from the steps), got {durability!r}"
        )


def _begin(
    agent: AsyncAgent,
    store: Any,
    episode_id: int,
    observation: str,
    info: dict[str, Any],
    *,
    resumed: bool,
) -> Any:
    """Start the agent, or restore it from what it saw and asked; return the decision a
    restored agent had made but not yet stepped (None otherwise)."""
    journal = StoreCallJournal(store, episode_id)
    if not resumed:
        agent.start(observation, info, journal)
        return None
    # a scripted agent replays what it saw; the model calls only matter to agents that make them
    calls = not isinstance(agent, SyncAgentAdapter)
    history = load_history(store, episode_id, calls=calls)
    return agent.restore(history, observation, info, journal)


@dataclass
class Job:
    seed: int | None = None
    resume: int | None = None


async def rollout_async(
    make_env: Callable[[], Any],
    make_agent: Callable[[], Any],
    jobs: Iterable[Job],
    *,
    concurrency: int,
    max_steps: int | None = None,
    progress: bool = True,
    listener: RolloutListener | None = None,
    step_in_thread: bool = False,
) -> list[EpisodeResult]:
    """Run every job, `concurrency` episodes at a time; results in job order.

    Progress goes to `listener` (default: a progress bar, hidden when `progress` is
    false). An episode that fails with an unexpected error is reported (`stopped`) and
    the others go on.
    """
    if concurrency < 1:
        raise ValueError(f"Expected a concurrency of at least 1, got {concurrency}")
    jobs = list(jobs)
    queue: asyncio.Queue[tuple[int, Job]] = asyncio.Queue()
    for item in enumerate(jobs):
        queue.put_nowait(item)
    results: list[EpisodeResult | None] = [None] * len(jobs)
    if listener is None:
        listener = ProgressBar(len(jobs), enabled=progress)
    episode_ids: dict[int, int] = {}  # job index -> its episode, once it exists

    def on_step(_info: dict[str, Any]) -> None:
        listener.stepped()

    def on_reset(index: int, episode_id: int) -> None:
        episode_ids[index] = episode_id
        listener.episode_started(index, episode_id)

    async def worker() -> None:
        while True:
            try:
                index, job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started_job = time.perf_counter()
            env = None
            try:
                env = make_env()
                result = await run_episode_async(
                    env,
                    make_agent(),
                    seed=job.seed,
                    resume=job.resume,
                    max_steps=max_steps,
                    on_step=on_step,
                    on_reset=lambda episode_id, i=index: on_reset(i, episode_id),
                    step_in_thread=step_in_thread,
                )
            except Exception as exc:  # one broken episode must not end the others
                result = EpisodeResult(
                    episode_id=episode_ids.get(index, job.resume),
                    seed=job.seed,
                    steps=0,
                    seconds=time.perf_counter() - started_job,
                    stopped=f"{type(exc).__name__}: {exc}",
                )
            finally:
                if env is not None:
                    env.close()
            results[index] = result
            listener.episode_finished(index, result)

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(jobs)))))
    finally:
        listener.close()
    return [r for r in results if r is not None]


# -- the trainer-facing API (tycoon.trainer), importable from here -----------------------


def run_rollouts(*args: Any, **kwargs: Any) -> Any:
    """Batches of episodes as trajectories; see `tycoon.trainer.api.run_rollouts`."""
    from tycoon.trainer.api import run_rollouts as run

    return run(*args, **kwargs)


def arun_rollouts(*args: Any, **kwargs: Any) -> Any:
    """Async generator of trajectories; see `tycoon.trainer.api.arun_rollouts`."""
    from tycoon.trainer.api import arun_rollouts as arun

    return arun(*args, **kwargs)
