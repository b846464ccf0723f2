"""`tycoon rollout`: many episodes at once (asyncio), in one process or several, into one
database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from tycoon.agents.llm.settings import add_llm_flags, add_supplier_flags
from tycoon.commands.common import (
    UsageError,
    _positive_int,
    add_episode_flags,
    llm_settings,
    make_agent,
    make_env,
    open_store,
)
from tycoon.parallel.flags import add_ray_flags, wants_ray
from tycoon.rollout import EpisodeResult, Job, ProgressBar, RolloutListener, rollout_async

EXIT_PAUSED = 3


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


def _jobs(args: argparse.Namespace, store: Any) -> list[Job]:
    if args.resume is None:
        return [Job(seed=args.seed + i) for i in range(args.episodes)]
    try:
        ids = [int(part) for part in args.resume.split(",") if part.strip()]
    except ValueError as exc:
        raise UsageError(
            f"--resume expects comma-separated episode ids, got {args.resume!r}"
        ) from exc
    known = {episode.id: episode for episode in store.list_episodes()}
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(f"no episode {', '.join(map(str, missing))} in {args.db}")
    return [Job(resume=i) for i in ids]


def handle(args: argparse.Namespace) -> int:
    try:
        if wants_ray(args) and args.db in (":memory:", "sqlite://"):
            raise UsageError("--ray needs a database file or server URL, not :memory:")
        store = open_store(args.db)  # creates the tables before any worker opens the file
        jobs = _jobs(args, store)
        make_env(args, store).close()  # validates --env and friends before anything runs
        if args.agent == "openai":
            llm_settings(args)
        else:
            make_agent(args, store)  # validates the agent flags
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    store.dispose()

    started = time.perf_counter()
    if wants_ray(args):
        from tycoon.parallel.cli_rollout import rollout_with_ray
        from tycoon.parallel.ray_runtime import ParallelRolloutError

        try:
            results = rollout_with_ray(args, jobs)
        except ParallelRolloutError as exc:  # Ray missing, a database no actor can share
            print(f"tycoon: error: {exc}", file=sys.stderr)
            return 2
    else:
        listener = ProgressBar(len(jobs), enabled=not args.no_progress)
        results = asyncio.run(run_share(args, jobs, args.concurrency, listener))
    _print_table(results, time.perf_counter() - started)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps([r.model_dump() for r in results], indent=2, default=str) + "\n"
        )
    stopped = [r for r in results if r.stopped]
    if stopped:
        resumable = [str(r.episode_id) for r in stopped if r.episode_id is not None]
        unstarted = [str(r.seed) for r in stopped if r.episode_id is None and r.seed is not None]
        lines = [
            f"tycoon: {len(stopped)} episode(s) stopped early; first reason: {stopped[0].stopped}"
        ]
        if resumable:
            lines.append(f"continue them with: --resume {','.join(resumable)} --db {args.db}")
        if unstarted:
            lines.append(f"never started (seeds {', '.join(unstarted)}): run them again")
        print("\n".join(lines), file=sys.stderr)
        return EXIT_PAUSED
    return 0


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


def _print_table(results: list[EpisodeResult], seconds: float) -> None:
    print(
        f"{'episode':>7} {'seed':>6} {'status':<11} {'days':>4} {'steps':>6} "
        f"{'net worth':>12} {'calls':>6} {'reuse':>6}"
    )
    for r in results:
        s = r.summary
        reuse = f"{r.prefix_reuse:.0%}" if r.prefix_reuse is not None and r.llm_calls else "-"
        print(
            f"{r.episode_id if r.episode_id is not None else '-':>7} {r.seed if r.seed is not None else '-':>6} "
            f"{(s.status if s else 'error'):<11} {(s.days if s else 0):>4} "
            f"{(s.steps if s else r.steps):>6} "
            f"{(f'${s.net_worth:,.2f}' if s else '-'):>12} {r.llm_calls:>6} {reuse:>6}"
        )
    steps = sum(r.steps for r in results)
    print(
        f"{len(results)} episode(s), {steps} steps in {seconds:.1f}s "
        f"({steps / max(seconds, 1e-9):,.1f} steps/s)"
    )
