"""`tycoon show EPISODE`: an episode's summary and its last steps, from the database."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from tycoon.commands.common import (
    DEFAULT_DB,
    UsageError,
    episode_number,
    non_negative_int,
    open_store,
    output_file,
)
from tycoon.commands.run import state_hash_line
from tycoon.envs.world.schema import Step
from tycoon.envs.world.store import StoreError
from tycoon.summary import summarise_episode


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "show",
        help="show an episode from the database",
        description="Show an episode's summary, its world's state hash (compare it with "
        "another run's: the same seed and actions give the same hash) and its last steps.",
    )
    parser.add_argument("episode", type=episode_number, help="episode id")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database (default {DEFAULT_DB})")
    parser.add_argument(
        "--steps", type=non_negative_int, default=10, help="how many last steps to show"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="print each step in full: model text, tool arguments, the whole observation",
    )
    parser.add_argument(
        "--html",
        type=output_file,
        default=None,
        metavar="FILE",
        help="write the episode viewer (a self-contained HTML page) to FILE",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db, read_only=True)
        summary = summarise_episode(store, args.episode)
    except (UsageError, StoreError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    print(state_hash_line(store.state_hash(args.episode)))
    if args.html:
        from tycoon.leaderboards.show import write_episode_html

        print(f"wrote {write_episode_html(store, args.episode, args.html)}", file=sys.stderr)
    if args.full:
        from tycoon.leaderboards.show import full_step_lines

        print("\n".join(full_step_lines(store, args.episode, last=max(args.steps, 0))))
        return 0
    with store.session() as session:
        steps = list(
            session.scalars(
                select(Step)
                .where(Step.episode_id == args.episode)
                .order_by(Step.id.desc())
                .limit(max(args.steps, 0))
            )
        )
    for step in reversed(steps):
        flag = "" if step.valid else "  [invalid]"
        first_line = step.observation.splitlines()[0] if step.observation else ""
        print(f"#{step.id:>5} day {step.day + 1:>3} {step.tool or '?':<22}{flag} {first_line[:80]}")
    return 0
