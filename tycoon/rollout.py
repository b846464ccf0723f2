"""The async runner: one episode, or many at once in one process.

Episodes run as asyncio tasks; while one waits for its model, the others step. An env
step is a synchronous SQL transaction of about a millisecond, run inline on the event
loop (handing it to a thread would cost more than it saves). Every step commits, and
LLM calls are recorded before their tool call reaches the env, so an episode stopped
for any reason (retries exhausted, a killed process) resumes with `resume=episode_id`.

Synchronous agents (`tycoon.agents.base.Agent`: baseline, random, ...) run here too,
through `SyncAgentAdapter`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel
from tqdm import tqdm

from tycoon.agents.llm.client import LlmError
from tycoon.summary import EpisodeSummary, summarise_episode


class AsyncAgent(Protocol):
    name: str

    def start(self, env: Any, observation: str, info: dict[str, Any]) -> None: ...

    def restore(self, env: Any, observation: str, info: dict[str, Any]) -> Any | None: ...

    async def decide(self) -> Any: ...

    def observe(self, decision: Any, observation: str) -> None: ...


@dataclass
class _SyncDecision:
    action: Any
    completion_tokens: int = 0


class SyncAgentAdapter:
    """Runs a synchronous `Agent` (reset/act) under the async runner."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.name = agent.name
        self._observation = ""
        self._info: dict[str, Any] = {}

    def start(self, env: Any, observation: str, info: dict[str, Any]) -> None:
        self._observation, self._info = observation, info
        self.agent.reset(observation, info)

    def restore(self, env: Any, observation: str, info: dict[str, Any]) -> None:
        self.start(env, observation, info)

    async def decide(self) -> _SyncDecision:
        return _SyncDecision(self.agent.act(self._observation, self._info))

    def observe(self, decision: Any, observation: str, info: dict[str, Any] | None = None) -> None:
        self._observation = observation
        if info is not None:
            self._info = info


def as_async_agent(agent: Any) -> AsyncAgent:
    return agent if hasattr(agent, "decide") else SyncAgentAdapter(agent)


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
) -> EpisodeResult:
    """Reset (or resume episode `resume`) and step until it ends, `max_steps` steps have
    run, or the model cannot be reached (then `stopped` says why; the episode resumes)."""
    agent = as_async_agent(agent)
    started = time.perf_counter()
    options = {"episode_id": resume} if resume is not None else None
    observation, info = env.reset(seed=seed, options=options)
    unwrapped = env.unwrapped
    episode_id = unwrapped.episode_id
    if resume is None:
        pending = agent.start(env, observation, info)
    else:
        pending = agent.restore(env, observation, info)
    steps, stopped = 0, None
    done = info.get("status", "running") != "running"
    try:
        while not done and (max_steps is None or steps < max_steps):
            decision = pending if pending is not None else await agent.decide()
            pending = None
            tokens = getattr(decision, "completion_tokens", 0)
            if tokens:
                unwrapped.record_output_tokens(tokens)
            observation, _reward, terminated, truncated, info = env.step(decision.action)
            if isinstance(agent, SyncAgentAdapter):
                agent.observe(decision, observation, info)
            else:
                agent.observe(decision, observation)
            steps += 1
            if on_step is not None:
                on_step(info)
            done = terminated or truncated
    except LlmError as exc:
        stopped = str(exc)
    summary = summarise_episode(unwrapped.store, episode_id)
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
) -> list[EpisodeResult]:
    """Run every job, `concurrency` episodes at a time; results in job order.

    An episode that fails with an unexpected error is reported (`stopped`) and the others
    go on.
    """
    if concurrency < 1:
        raise ValueError(f"Expected a concurrency of at least 1, got {concurrency}")
    jobs = list(jobs)
    queue: asyncio.Queue[tuple[int, Job]] = asyncio.Queue()
    for item in enumerate(jobs):
        queue.put_nowait(item)
    results: list[EpisodeResult | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), unit="ep", desc="rollout", disable=not progress, dynamic_ncols=True)
    counters = {"steps": 0, "shown": time.perf_counter()}
    started = time.perf_counter()

    def on_step(_info: dict[str, Any]) -> None:
        counters["steps"] += 1
        now = time.perf_counter()
        if progress and now - counters["shown"] > 0.5:
            counters["shown"] = now
            bar.set_postfix(
                steps=counters["steps"], steps_per_s=f"{counters['steps'] / (now - started):.1f}"
            )

    async def worker() -> None:
        while True:
            try:
                index, job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started_job = time.perf_counter()
            env = make_env()
            try:
                results[index] = await run_episode_async(
                    env,
                    make_agent(),
                    seed=job.seed,
                    resume=job.resume,
                    max_steps=max_steps,
                    on_step=on_step,
                )
            except Exception as exc:  # one broken episode must not end the others
                results[index] = EpisodeResult(
                    episode_id=job.resume,
                    seed=job.seed,
                    steps=0,
                    seconds=time.perf_counter() - started_job,
                    stopped=f"{type(exc).__name__}: {exc}",
                )
            finally:
                env.close()
                bar.update(1)

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(jobs)))))
    finally:
        elapsed = time.perf_counter() - started
        bar.set_postfix(
            steps=counters["steps"], steps_per_s=f"{counters['steps'] / max(elapsed, 1e-9):.1f}"
        )
        bar.close()
    return [r for r in results if r is not None]
