"""`tycoon eval SUITE --ray`: a suite's episodes over Ray env-runner actors.

One pool of actors plays every scenario of the suite: the factory shipped to them holds
the flags of each scenario and picks them by job. Each episode is linked to the eval
run as soon as an actor reports it started (the engine records the reported id on the
job as `resume`, so a watcher in the driver sees it), and again when it finishes, so a
killed eval resumes its episodes instead of starting them over, exactly as without Ray.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from tycoon.commands.common import llm_settings, make_agent, make_env
from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.runs import PlannedEpisode
from tycoon.parallel.cli_rollout import ArgsEpisodes, command_engine, ray_for_command
from tycoon.parallel.endpoints import EndpointClients
from tycoon.parallel.jobs import EpisodeJob
from tycoon.rollout import EpisodeResult

LINK_POLL_SECONDS = 0.2  # how often the driver looks for newly started episodes

# (scenario, seed, episode id) -> None: records the link in the eval run
Linker = Callable[[str, int, int], None]


class SuiteEpisodes(ArgsEpisodes):
    """Env and agent of each job from its scenario's flags (`eval`'s `episode_args`)."""

    def __init__(self, by_scenario: dict[str, argparse.Namespace], todo: list[PlannedEpisode]):
        first = next(iter(by_scenario.values()))
        super().__init__(first)
        self.by_scenario = {
            scenario: argparse.Namespace(**{k: v for k, v in vars(a).items() if k != "handler"})
            for scenario, a in by_scenario.items()
        }
        self.scenario_of = [planned.scenario for planned in todo]  # by job index

    def _args(self, job: EpisodeJob) -> argparse.Namespace:
        return self.by_scenario[self.scenario_of[job.index]]

    def make_env(self, store: WorldStore, job: EpisodeJob) -> Any:
        return make_env(self._args(job), store)

    def make_agent(self, store: WorldStore, job: EpisodeJob, clients: EndpointClients) -> Any:
        if job.llm is None:
            return make_agent(self._args(job), store)
        return super().make_agent(store, job, clients)  # the LLM agent needs no flags


def eval_with_ray(
    args: argparse.Namespace,
    by_scenario: dict[str, argparse.Namespace],
    todo: list[PlannedEpisode],
    link: Linker,
) -> list[EpisodeResult]:
    """Play `todo` (unfinished episodes of the run) on a local Ray or the cluster at
    --ray-address; `link` is called for each episode once it exists."""
    with ray_for_command(args) as actors:
        llm = llm_settings(args) if args.agent == "openai" else None
        jobs = [
            EpisodeJob(index=i, seed=planned.seed, resume=planned.episode_id, llm=llm)
            for i, planned in enumerate(todo)
        ]
        factory = SuiteEpisodes(by_scenario, todo)
        results = asyncio.run(_run(factory, jobs, todo, link, actors, args))
    return [results[i] for i in sorted(results)]


async def _run(
    factory: SuiteEpisodes,
    jobs: list[EpisodeJob],
    todo: list[PlannedEpisode],
    link: Linker,
    actors: int,
    args: argparse.Namespace,
) -> dict[int, EpisodeResult]:
    linked = {i: planned.episode_id for i, planned in enumerate(todo)}

    def link_started() -> None:
        for job in jobs:
            if job.resume is not None and linked[job.index] != job.resume:
                link(todo[job.index].scenario, todo[job.index].seed, job.resume)
                linked[job.index] = job.resume

    async def watch() -> None:
        while True:
            await asyncio.sleep(LINK_POLL_SECONDS)
            link_started()

    results: dict[int, EpisodeResult] = {}
    engine = command_engine(factory, actors, args, "eval")
    watcher = asyncio.ensure_future(watch())
    try:
        async with engine:
            async for outcome in engine.stream(jobs):
                index = outcome.job.index
                episode_id = outcome.result.episode_id
                if episode_id is not None and linked[index] != episode_id:
                    link(todo[index].scenario, todo[index].seed, episode_id)
                    linked[index] = episode_id
                results[index] = outcome.result
    finally:
        watcher.cancel()
        link_started()
    return results
