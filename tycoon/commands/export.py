"""`tycoon export`: episodes as JSONL (messages, tools, rewards, token ids) for training."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from tycoon.commands.common import (
    DEFAULT_DB,
    UsageError,
    episode_number,
    open_store,
    output_file_or_stdout,
)
from tycoon.envs.world.store import StoreError
from tycoon.export import iter_records, write_jsonl
from tycoon.output_files import STDOUT


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "export",
        help="write episodes as JSONL (OpenAI-format messages, rewards, token ids)",
        description="Write episodes as JSONL, one episode per line.",
    )
    parser.add_argument(
        "episodes",
        nargs="*",
        type=episode_number,
        metavar="EPISODE",
        help="episode ids (default: every episode in --db)",
    )
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database (default {DEFAULT_DB})")
    parser.add_argument(
        "--out",
        type=output_file_or_stdout,
        default=STDOUT,
        help="output file (default -: standard output)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db, read_only=True)
        known = [episode.id for episode in store.list_episodes()]
        ids = args.episodes or known
        missing = sorted(set(ids) - set(known))
        if missing:
            raise UsageError(
                f"no episode {', '.join(map(str, missing))} in {args.db} "
                f"(it holds {len(known)} episode(s))"
            )
    except (UsageError, StoreError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    records = tqdm(
        iter_records(store, ids),
        total=len(ids),
        unit="ep",
        desc="export",
        disable=args.no_progress or args.out == STDOUT,
        file=sys.stderr,
    )
    if args.out == STDOUT:
        count = write_jsonl(records, sys.stdout)
    else:
        count = write_jsonl(records, Path(args.out))
        print(f"wrote {count} episode(s) to {args.out}", file=sys.stderr)
    return 0
