"""`tycoon run`: one episode, with a progress bar over simulated days and a summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tycoon.agents.llm.settings import add_llm_flags, add_supplier_flags
from tycoon.commands.common import UsageError, add_episode_flags, make_agent, make_env, open_store
from tycoon.rollout import EpisodeResult, run_episode_async
from tycoon.runner import run_episode
from tycoon.summary import EpisodeSummary

# exit status of an LLM run that stopped early (model unreachable): resume it later
EXIT_PAUSED = 3


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "run",
        help="run one episode (default: VendingClassic, baseline agent, ./runs/tycoon.db)",
        description="Run one episode and print its summary.",
    )
    add_episode_flags(parser)
    parser.add_argument(
        "--resume",
        type=int,
        default=None,
        metavar="EPISODE",
        help="continue an unfinished episode from --db",
    )
    parser.add_argument(
        "--replay-episode",
        type=int,
        default=None,
        metavar="EPISODE",
        help="with --agent replay: the recorded episode to replay",
    )
    add_llm_flags(parser)
    add_supplier_flags(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db)
        env = make_env(args, store)
        agent = make_agent(args, store)
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    if hasattr(agent, "decide"):  # an async (LLM) agent
        return _run_async(args, env, agent)
    options = {"episode_id": args.resume} if args.resume is not None else None
    try:
        summary = run_episode(
            env, agent, seed=args.seed, options=options, progress=not args.no_progress
        )
    finally:
        env.close()
    _report(args, summary)
    return 0


def _report(args: argparse.Namespace, summary: EpisodeSummary, extra: dict | None = None) -> None:
    print("\n".join(summary.lines()))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        payload = {**summary.model_dump(), **(extra or {})}
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")


def _run_async(args: argparse.Namespace, env: Any, agent: Any) -> int:
    """One episode of an LLM agent through the async runner, with a bar over days."""
    bar = tqdm(
        total=env.unwrapped.config.max_days,
        unit="day",
        desc=f"{agent.name} {args.model}",
        disable=args.no_progress,
        dynamic_ncols=True,
    )
    state = {"day": None}

    def on_step(info: dict[str, Any]) -> None:
        if state["day"] is None:
            state["day"] = info["day"]
        if info["day"] != state["day"]:
            bar.update(info["day"] - state["day"])
            state["day"] = info["day"]
            bar.set_postfix(net_worth=f"${info['net_worth']:,.0f}", refresh=False)

    async def main() -> EpisodeResult:
        try:
            return await run_episode_async(
                env,
                agent,
                seed=args.seed,
                resume=args.resume,
                on_step=on_step,
                step_in_thread=bool(args.supplier_model),  # a supplier reply may wait on a model
            )
        finally:
            await agent.client.close()

    try:
        result = asyncio.run(main())
    finally:
        bar.close()
        env.close()
    assert result.summary is not None
    _report(
        args,
        result.summary,
        {
            "llm_calls": result.llm_calls,
            "prefix_reuse": result.prefix_reuse,
            "stopped": result.stopped,
        },
    )
    print(f"llm calls    {result.llm_calls} (mean prefix reuse {result.prefix_reuse or 0:.1%})")
    if result.stopped:
        print(
            f"tycoon: stopped early: {result.stopped}\n"
            f"every finished step is in the database; continue with "
            f"--resume {result.episode_id} --db {args.db}",
            file=sys.stderr,
        )
        return EXIT_PAUSED
    return 0
