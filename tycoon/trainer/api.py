"""The trainer-facing rollout API: batches of episodes in, finished trajectories out.

    spec = RolloutSpec(db="postgresql+psycopg://...", env_id="tycoon/VendingYear-v0",
                       max_steps=200)
    policy = Policy(model="my-policy", base_urls=["http://gpu0:8000/v1", "http://gpu1:8000/v1"])
    async with RolloutEngine(spec, actors=4, concurrency=64) as engine:
        for batch in range(steps):
            async for trajectory in engine.rollouts(seeds, group_size=8, policy=policy):
                ...                               # as each episode finishes
            policy = policy.model_copy(update={"model": "my-policy-v2"})  # after an update

`arun_rollouts` / `run_rollouts` do one batch with an engine made for it (or the one
passed as `engine=`). Without `actors` the episodes run on this process's event loop;
with `actors` (or `ray_address`) they run on Ray env-runner actors, and an actor that dies
loses nothing (its episodes continue on another).

- Groups: `group_size` episodes per seed, for group-relative advantages (GRPO). The
  members share the world's seed; each asks the model with its own sampling seeds, so
  they differ wherever the model samples.
- Routing: every episode goes to one of `policy.base_urls`, chosen by rendezvous hashing
  of its seed and member, and stays there (the replica's prefix cache keeps serving it);
  a resumed episode returns to the same URL.
- `max_in_flight` caps each process's requests in flight per endpoint; with A actors a
  total cap C is `max_in_flight = C // A`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tycoon.agents.llm.agent import LlmAgent
from tycoon.agents.llm.settings import LlmSettings
from tycoon.envs.world.store import WorldStore
from tycoon.parallel.endpoints import EndpointClients, sticky_url
from tycoon.parallel.jobs import EpisodeJob
from tycoon.parallel.worker import EpisodeFactory
from tycoon.trainer.trajectory import Trajectory

DEFAULT_ENV = "tycoon/VendingClassic-v0"


class Policy(BaseModel):
    """The model episodes sample from: where it is served and how it is asked. A trainer
    passes a new one for a batch after a weight update (new model name or URLs)."""

    model_config = ConfigDict(frozen=True)

    model: str = Field(min_length=1)
    base_urls: list[str] = Field(min_length=1)
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float | None = Field(1.0, ge=0, le=2)
    max_tokens: int | None = Field(2048, ge=1)
    context_tokens: int = Field(32_000, ge=512)
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0)
    backoff_base: float = Field(1.0, ge=0)
    return_token_ids: bool = True
    logprobs: bool = True

    def settings_for(self, job_key: str) -> LlmSettings:
        """The settings of one episode, routed to its sticky base URL."""
        return LlmSettings(
            model=self.model,
            base_url=sticky_url(self.base_urls, job_key),
            api_key_env=self.api_key_env,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            context_tokens=self.context_tokens,
            timeout=self.timeout,
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
            backoff_max=max(60.0, self.backoff_base),
            return_token_ids=self.return_token_ids,
            logprobs=self.logprobs,
        )


class RolloutSpec(BaseModel):
    """What the episodes are: env, limits, database. Fixed for an engine's life."""

    db: str
    env_id: str = DEFAULT_ENV
    scenario: str | None = None
    max_days: int | None = Field(None, ge=1)
    max_steps: int | None = Field(None, ge=1)
    config: dict[str, Any] = {}  # further VendingConfig overrides
    reward_weights: dict[str, float] | None = None
    agent: str = "openai"  # or a scripted agent's name (baseline, random, idle, ...)


class GroupMemberAgent(LlmAgent):
    """The LLM agent of member m of a group: member 0 asks exactly as a lone episode does;
    the others shift the per-call sampling seed, so a group's members can differ where
    the model samples while each member still reproduces (and resumes) exactly."""

    def __init__(self, settings: LlmSettings, client: Any, member: int) -> None:
        super().__init__(settings, client)
        self.member = member

    def _call_seed(self) -> int:
        return (super()._call_seed() + self.member * 2_654_435_761) % 2**31


class SpecEpisodes(EpisodeFactory):
    """Env and agent from a `RolloutSpec` (the agent's endpoint comes with each job)."""

    def __init__(self, spec: RolloutSpec) -> None:
        self.spec = spec
        self.db = spec.db

    def make_env(self, store: WorldStore, job: EpisodeJob) -> Any:
        import tycoon

        spec = self.spec
        overrides = dict(spec.config)
        kwargs: dict[str, Any] = {}
        if spec.max_days is not None:
            overrides["max_days"] = spec.max_days
        if spec.max_steps is not None:
            overrides["max_steps"] = spec.max_steps
            kwargs["max_episode_steps"] = spec.max_steps
        if spec.scenario is not None:
            kwargs["scenario"] = spec.scenario
        if spec.reward_weights is not None:
            kwargs["reward_weights"] = spec.reward_weights
        return tycoon.make(
            spec.env_id,
            store=store,
            config=overrides or None,
            agent_name=spec.agent,
            model_name=job.llm.model if job.llm is not None else "",
            **kwargs,
        )

    def make_agent(self, store: WorldStore, job: EpisodeJob, clients: EndpointClients) -> Any:
        if job.llm is not None:
            return GroupMemberAgent(job.llm, clients.client(job.llm), job.member)
        from tycoon.agents import AGENTS

        if self.spec.agent not in AGENTS or self.spec.agent in ("openai", "replay"):
            raise ValueError(
                f"Expected a scripted agent name or a Policy for agent 'openai', "
                f"got agent {self.spec.agent!r} without a policy"
            )
        factory = AGENTS[self.spec.agent]
        return factory(seed=job.seed) if self.spec.agent == "random" else factory()


def group_jobs(seeds: Iterable[int], group_size: int, policy: Policy | None) -> list[EpisodeJob]:
    """`group_size` jobs per seed, each routed to its endpoint."""
    if group_size < 1:
        raise ValueError(f"Expected a group size of at least 1, got {group_size}")
    jobs = []
    for seed in seeds:
        for member in range(group_size):
            job = EpisodeJob(index=len(jobs), seed=seed, member=member, trajectory=True)
            if policy is not None:
                job.llm = policy.settings_for(job.key)
            jobs.append(job)
    return jobs


class RolloutEngine:
    """Env-runners kept across batches: in this process, or Ray actors (`actors`)."""

    def __init__(
        self,
        spec: RolloutSpec,
        *,
        actors: int | None = None,
        ray_address: str | None = None,
        concurrency: int = 64,
        max_in_flight: int | None = None,
        max_deaths: int = 3,
        progress: bool = False,
    ) -> None:
        self.spec = spec
        self.factory = SpecEpisodes(spec)
        self.use_ray = actors is not None or ray_address is not None
        self.actors = actors
        self.ray_address = ray_address
        self.concurrency = concurrency
        self.max_in_flight = max_in_flight
        self.max_deaths = max_deaths
        self.progress = progress
        self.engine: Any = None
        self._owns_ray = False

    async def start(self) -> RolloutEngine:
        if self.use_ray:
            from tycoon.parallel.engine import RayRollout
            from tycoon.parallel.ray_runtime import default_actors, join_ray

            self._owns_ray = join_ray(self.ray_address, self.spec.db)
            self.engine = RayRollout(
                self.factory,
                actors=self.actors or default_actors(),
                concurrency=self.concurrency,
                max_in_flight=self.max_in_flight,
                max_deaths=self.max_deaths,
                progress=self.progress,
            )
        else:
            from tycoon.trainer.local import LocalRollout

            self.engine = LocalRollout(
                self.factory,
                concurrency=self.concurrency,
                max_in_flight=self.max_in_flight,
                progress=self.progress,
            )
        await self.engine.start()
        return self

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()
            self.engine = None
        if self._owns_ray:
            from tycoon.parallel.ray_runtime import leave_ray

            leave_ray(self._owns_ray)
            self._owns_ray = False

    async def __aenter__(self) -> RolloutEngine:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def rollouts(
        self, seeds: Iterable[int], *, group_size: int = 1, policy: Policy | None = None
    ) -> AsyncIterator[Trajectory]:
        """One batch: yield each episode's trajectory as it finishes."""
        if self.engine is None:
            await self.start()
        if self.spec.agent == "openai" and policy is None:
            raise ValueError("Expected a Policy for agent 'openai' (the model to sample from)")
        async for outcome in self.engine.stream(group_jobs(seeds, group_size, policy)):
            if outcome.trajectory is None:  # the episode never started
                raise RuntimeError(
                    f"episode of seed {outcome.job.seed} (member {outcome.job.member}) "
                    f"could not start: {outcome.result.stopped}"
                )
            yield Trajectory.model_validate(outcome.trajectory)


async def arun_rollouts(
    spec: RolloutSpec,
    seeds: Iterable[int],
    *,
    policy: Policy | None = None,
    group_size: int = 1,
    engine: RolloutEngine | None = None,
    **engine_options: Any,
) -> AsyncIterator[Trajectory]:
    """One batch of rollouts; trajectories as they finish. `engine_options` are those of
    `RolloutEngine` (actors, ray_address, concurrency, max_in_flight, ...)."""
    owned = engine is None
    if engine is None:
        engine = RolloutEngine(spec, **engine_options)
    try:
        async for trajectory in engine.rollouts(seeds, group_size=group_size, policy=policy):
            yield trajectory
    finally:
        if owned:
            await engine.close()


def run_rollouts(
    spec: RolloutSpec,
    seeds: Iterable[int],
    *,
    policy: Policy | None = None,
    group_size: int = 1,
    **engine_options: Any,
) -> list[Trajectory]:
    """`arun_rollouts` for synchronous code: every trajectory, in the order they finished."""

    async def collect() -> list[Trajectory]:
        return [
            t
            async for t in arun_rollouts(
                spec, seeds, policy=policy, group_size=group_size, **engine_options
            )
        ]

    return asyncio.run(collect())
