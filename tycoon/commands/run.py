"""`tycoon run`: one episode, with a progress bar over simulated days and a summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tycoon.commands.common import UsageError, add_episode_flags, make_agent, make_env, open_store
from tycoon.runner import run_episode


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
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db)
        env = make_env(args, store)
        agent = make_agent(args, store)
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    options = {"episode_id": args.resume} if args.resume is not None else None
    try:
        summary = run_episode(
            env, agent, seed=args.seed, options=options, progress=not args.no_progress
        )
    finally:
        env.close()
    print("\n".join(summary.lines()))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(summary.model_dump(), indent=2) + "\n")
    return 0
