"""`tycoon rollout --ray`: the command's episodes over env-runner actors.

The actors rebuild env and agent from the parsed flags (`ArgsEpisodes`), exactly as the
in-process rollout does, so every flag means the same in both.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tycoon.commands.common import apply_defaults, llm_settings, make_agent, make_env
from tycoon.envs.world.store import WorldStore
from tycoon.parallel.endpoints import EndpointClients
from tycoon.parallel.engine import RayRollout
from tycoon.parallel.jobs import EpisodeJob
from tycoon.parallel.ray_runtime import SingleNodeDatabase, default_actors, join_ray, leave_ray
from tycoon.parallel.worker import EpisodeFactory
from tycoon.rollout import EpisodeResult, Job


class ArgsEpisodes(EpisodeFactory):
    """Env and agent from `tycoon rollout`'s flags (a picklable argparse namespace).

    The flags not given take their defaults here, as the command's own rollout does: a
    namespace straight from `parse_args` leaves them None (so that a resume can tell a
    given flag from a default), and an env built from it would fail in every actor."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "handler"})
        apply_defaults(self.args)
        self.db = args.db
        self.step_in_thread = bool(getattr(args, "supplier_model", None))

    def make_env(self, store: WorldStore, job: EpisodeJob) -> Any:
        return make_env(self.args, store)

    def make_agent(self, store: WorldStore, job: EpisodeJob, clients: EndpointClients) -> Any:
        if job.llm is None:
            return make_agent(self.args, store)
        from tycoon.agents.llm import LlmAgent

        return LlmAgent(job.llm, clients.client(job.llm))


@contextmanager
def ray_for_command(args: argparse.Namespace) -> Iterator[int]:
    """Ray for one command (`rollout`, `eval`): a local Ray started for it, or the cluster
    at --ray-address; the database checked for what every node can reach (a warning on
    one node with a SQLite file). Yields the number of actors; shuts down a Ray it started."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SingleNodeDatabase)
        owns_ray = join_ray(args.ray_address, args.db)
    for warning in caught:
        print(f"tycoon: warning: {warning.message}", file=sys.stderr)
    try:
        yield args.actors or default_actors()
    finally:
        leave_ray(owns_ray)


def command_engine(
    factory: EpisodeFactory, actors: int, args: argparse.Namespace, command: str
) -> RayRollout:
    """The engine of a command (`rollout`, `eval`): --concurrency episodes per actor, and
    its progress bar unless --no-progress."""
    return RayRollout(
        factory,
        actors=actors,
        concurrency=args.concurrency,
        progress=not args.no_progress,
        desc=f"{command} x{actors} actors",
    )


def rollout_with_ray(args: argparse.Namespace, jobs: list[Job]) -> list[EpisodeResult]:
    """Run `jobs` on a local Ray (or the cluster at --ray-address); results in job order."""
    with ray_for_command(args) as actors:
        llm = llm_settings(args) if args.agent == "openai" else None
        episode_jobs = [
            EpisodeJob(index=i, seed=job.seed, resume=job.resume, llm=llm)
            for i, job in enumerate(jobs)
        ]
        results = asyncio.run(_run(ArgsEpisodes(args), episode_jobs, actors, args))
    return [results[i] for i in sorted(results)]


async def _run(
    factory: ArgsEpisodes, jobs: list[EpisodeJob], actors: int, args: argparse.Namespace
) -> dict[int, EpisodeResult]:
    results: dict[int, EpisodeResult] = {}
    async with command_engine(factory, actors, args, "rollout") as engine:
        async for outcome in engine.stream(jobs):
            results[outcome.job.index] = outcome.result
    return results
