"""`tycoon rollout`: many episodes at once (asyncio), in one process or several, into one
database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import IO, Any

from tycoon.agents.history import ResumeMismatch
from tycoon.agents.llm.settings import add_llm_flags, add_supplier_flags
from tycoon.commands.common import (
    UsageError,
    _positive_int,
    add_episode_flags,
    apply_defaults,
    apply_run_spec,
    check_episode_flags,
    episode_ids,
    llm_settings,
    make_agent,
    make_env,
    open_store,
    refuse_unused_llm_flags,
    resumable_episode,
    resume_command,
)
from tycoon.output_files import report_stream, write_output
from tycoon.parallel.flags import add_ray_flags, wants_ray
from tycoon.parallel.ray_runtime import ParallelRolloutError
from tycoon.rollout import EpisodeResult, Job, ProgressBar, RolloutListener, rollout_async

EXIT_PAUSED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "rollout",
        help="run many episodes concurrently (asyncio), each with its own seed",
        description=(
            "Run --episodes episodes, --concurrency at a time, in this process, or with --ray "
            "on --actors env-runner actors (each with --concurrency in flight). Episode i "
            "gets seed --seed + i. On Ray, the episodes of an actor that dies continue on "
            "another. Episodes stopped early (model unreachable) stay resumable: pass their "
            "ids to --resume."
        ),
    )
    add_episode_flags(parser)
    parser.add_argument("--episodes", type=_positive_int, default=1, help="how many (default 1)")
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        help="episodes in flight at once (with --ray: per actor; default 8)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="W > 1: the same as --ray --actors W (kept for older scripts)",
    )
    add_ray_flags(parser)
    parser.add_argument(
        "--resume",
        default=None,
        metavar="IDS",
        help="continue these unfinished episodes (comma-separated ids) "
        "instead of starting new ones",
    )
    add_llm_flags(parser)
    add_supplier_flags(parser)
    parser.set_defaults(handler=handle)


def _groups(args: argparse.Namespace, store: Any) -> list[tuple[argparse.Namespace, list[Job]]]:
    """The jobs, grouped by how their episodes are run: one group of new episodes from
    the flags, or the resumed episodes grouped by their stored RunSpec."""
    if args.resume is None:
        apply_defaults(args)
        return [(args, [Job(seed=args.seed + i) for i in range(args.episodes)])]
    ids = episode_ids(args.resume)
    groups: dict[str, tuple[argparse.Namespace, list[Job]]] = {}
    for episode_id in ids:
        episode = resumable_episode(store, episode_id, args.db)
        episode_args = argparse.Namespace(**vars(args))
        spec = apply_run_spec(episode_args, episode)
        key = spec.model_dump_json()
        groups.setdefault(key, (episode_args, []))[1].append(Job(resume=episode_id))
    return list(groups.values())


def _validate(args: argparse.Namespace, store: Any) -> None:
    refuse_unused_llm_flags(args, llm_agent=args.agent == "openai", agents=f"--agent {args.agent}")
    make_env(args, store).close()  # validates --env and friends before anything runs
    if args.agent == "openai":
        llm_settings(args)
    else:
        make_agent(args, store)  # validates the agent flags


def handle(args: argparse.Namespace) -> int:
    try:
        if wants_ray(args) and args.db in (":memory:", "sqlite://"):
            raise UsageError("--ray needs a database file or server URL, not :memory:")
        if args.resume is None:
            apply_defaults(args)
            check_episode_flags(args)  # before the database file is created
        # creates the tables before any worker opens the file (a resume needs them there)
        store = open_store(args.db, must_exist=args.resume is not None)
        groups = _groups(args, store)
        for group_args, _jobs in groups:
            _validate(group_args, store)
        newest_before = max((e.id for e in store.list_episodes()), default=0)
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    store.dispose()

    started = time.perf_counter()
    results: list[EpisodeResult] = []
    try:
        for group_args, jobs in groups:
            results += _run_group(group_args, jobs)
    except KeyboardInterrupt:
        jobs = [job for _args, group in groups for job in group]
        print(f"\ninterrupted: {_resume_hint(args, jobs, newest_before)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ParallelRolloutError as exc:  # Ray missing, a database no actor can share
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    _print_table(results, time.perf_counter() - started, report_stream(args.out))
    if args.out:
        write_output(
            args.out, json.dumps([r.model_dump() for r in results], indent=2, default=str) + "\n"
        )
    stopped = [r for r in results if r.stopped]
    if stopped:
        # an agent that cannot be rebuilt exactly would fail the same way again
        inexact = [r for r in stopped if r.stopped.startswith(f"{ResumeMismatch.__name__}:")]
        resumable = [r.episode_id for r in stopped if r.episode_id is not None and r not in inexact]
        unstarted = [str(r.seed) for r in stopped if r.episode_id is None and r.seed is not None]
        lines = [
            f"tycoon: {len(stopped)} episode(s) stopped early; first reason: {stopped[0].stopped}"
        ]
        if resumable:
            lines.append(f"continue them with: {resume_command('rollout', args.db, resumable)}")
        if unstarted:
            lines.append(f"never started (seeds {', '.join(unstarted)}): run them again")
        if inexact:
            ids = ", ".join(str(r.episode_id) for r in inexact)
            lines.append(f"cannot resume exactly (episodes {ids}): see the reason above")
        print("\n".join(lines), file=sys.stderr)
        return EXIT_PAUSED
    return 0


def _run_group(args: argparse.Namespace, jobs: list[Job]) -> list[EpisodeResult]:
    if wants_ray(args):
        from tycoon.parallel.cli_rollout import rollout_with_ray

        return rollout_with_ray(args, jobs)
    listener = ProgressBar(len(jobs), enabled=not args.no_progress)
    return asyncio.run(run_share(args, jobs, args.concurrency, listener))


def _resume_hint(args: argparse.Namespace, jobs: list[Job], newest_before: int) -> str:
    """What an interrupted rollout left: the command that continues its unfinished
    episodes (read from the database: workers may have started them), and the seeds
    never started."""
    from sqlalchemy import or_, select

    from tycoon.envs.world.schema import Episode

    resumed = [job.resume for job in jobs if job.resume is not None]
    seeds = {job.seed for job in jobs if job.seed is not None}
    store = open_store(args.db)
    try:
        with store.session() as session:
            rows = session.execute(
                select(Episode.id, Episode.seed, Episode.status)
                .where(
                    or_(
                        Episode.id.in_(resumed),
                        (Episode.id > newest_before)
                        & Episode.seed.in_(seeds)
                        & (Episode.agent == args.agent),
                    )
                )
                .order_by(Episode.id)
            ).all()
    finally:
        store.dispose()
    unfinished = [row.id for row in rows if row.status == "running"]
    unstarted = sorted(seeds - {row.seed for row in rows if row.id > newest_before})
    parts = []
    if unfinished:
        parts.append(
            "every finished step is in the database; continue with: "
            + resume_command("rollout", args.db, unfinished)
        )
    if unstarted:
        parts.append(f"never started: seeds {', '.join(map(str, unstarted))}")
    return "\n".join(parts) or "no episode was left unfinished"


async def run_share(
    args: argparse.Namespace, jobs: list[Job], concurrency: int, listener: RolloutListener
) -> list[EpisodeResult]:
    """Run `jobs` in this process (the whole rollout, or one worker's share)."""
    store = open_store(args.db)
    try:
        if args.agent != "openai":
            return await rollout_async(
                lambda: make_env(args, store),
                lambda: make_agent(args, store),
                jobs,
                concurrency=concurrency,
                listener=listener,
                step_in_thread=bool(args.supplier_model),
            )
        from tycoon.agents.llm import ChatClient, LlmAgent

        settings = llm_settings(args)
        client = ChatClient(settings, max_in_flight=concurrency)
        try:
            return await rollout_async(
                lambda: make_env(args, store),
                lambda: LlmAgent(settings, client),
                jobs,
                concurrency=concurrency,
                listener=listener,
                step_in_thread=bool(args.supplier_model),
            )
        finally:
            await client.close()
    finally:
        store.dispose()


def _print_table(results: list[EpisodeResult], seconds: float, stream: IO[str]) -> None:
    print(
        f"{'episode':>7} {'seed':>6} {'status':<11} {'days':>4} {'steps':>6} "
        f"{'net worth':>12} {'calls':>6} {'reuse':>6}",
        file=stream,
    )
    for r in results:
        s = r.summary
        reuse = f"{r.prefix_reuse:.0%}" if r.prefix_reuse is not None and r.llm_calls else "-"
        print(
            f"{r.episode_id if r.episode_id is not None else '-':>7} {r.seed if r.seed is not None else '-':>6} "
            f"{(s.status if s else 'error'):<11} {(s.days if s else 0):>4} "
            f"{(s.steps if s else r.steps):>6} "
            f"{(f'${s.net_worth:,.2f}' if s else '-'):>12} {r.llm_calls:>6} {reuse:>6}",
            file=stream,
        )
    steps = sum(r.steps for r in results)
    print(
        f"{len(results)} episode(s), {steps} steps in {seconds:.1f}s "
        f"({steps / max(seconds, 1e-9):,.1f} steps/s)",
        file=stream,
    )
