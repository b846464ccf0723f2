"""`tycoon leaderboard`: eval runs compared, as a table or a static HTML site."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from tycoon.commands.common import DEFAULT_DB, UsageError, open_store, output_directory
from tycoon.envs.world.store import StoreError


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "leaderboard",
        help="compare eval runs: score with 95%% intervals, behaviour per opportunity",
        description=(
            "One row per eval run (`tycoon eval`): the env's score (mean with a 95% "
            "bootstrap interval, min, max), units sold, days until sales stop, invalid "
            "actions, tokens and cost, and behaviour as a share of opportunity-days "
            "(Wilson interval), pressure minus control. Arena runs (`tycoon eval arena`) get "
            "a board each: rating, mean bank, share, wins-losses-ties and the head-to-head "
            "matrix. --html writes a static site."
        ),
    )
    parser.add_argument(
        "--db", default=DEFAULT_DB, help=f"SQLite file or SQLAlchemy URL (default {DEFAULT_DB})"
    )
    parser.add_argument("--suite", default=None, help="only this suite (e.g. vb2)")
    parser.add_argument(
        "--format",
        default="table",
        choices=("table", "markdown", "csv", "json"),
        help="terminal output (default table)",
    )
    parser.add_argument(
        "--html",
        type=output_directory,
        default=None,
        metavar="DIR",
        help="write a static site, entry DIR/index.html",
    )
    parser.add_argument(
        "--prices",
        default=None,
        metavar="FILE",
        help="YAML price table (USD per million tokens) over the shipped one",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tycoon.leaderboards.arena import arena_boards
    from tycoon.leaderboards.arena_tables import render_arena
    from tycoon.leaderboards.prices import load_prices
    from tycoon.leaderboards.scores import leaderboard_rows
    from tycoon.leaderboards.tables import render

    try:
        if "://" not in args.db and not Path(args.db).exists():
            raise UsageError(f"no database at {args.db}; expected the --db of `tycoon eval`")
        prices = load_prices(args.prices)
        store = open_store(args.db, must_exist=True)
        rows = leaderboard_rows(store, suite=args.suite, prices=prices)
        boards = arena_boards(store, suite=args.suite)
    except (UsageError, StoreError, ValueError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    if not rows and not boards:
        which = f" of suite {args.suite}" if args.suite else ""
        print(f"no eval runs{which} in {args.db}; run e.g. `tycoon eval vb2 --agent baseline`")
    elif args.format == "json":  # one list: single-agent rows, then arena boards
        rows_json = json.loads(render(rows, "json")) if rows else []
        print(json.dumps(rows_json + json.loads(render_arena(boards, "json")), indent=2))
    else:
        print("\n\n".join(
            text for text in (
                render(rows, args.format) if rows else "",
                render_arena(boards, args.format) if boards else "",
            ) if text
        ))  # fmt: skip
    if args.html:
        from tycoon.leaderboards.site import write_site

        bar = tqdm(total=0, unit="ep", desc="episode pages", disable=args.no_progress)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        index = write_site(store, rows, Path(args.html), progress=progress, boards=boards)
        bar.close()
        print(f"wrote {index}", file=sys.stderr)
    store.dispose()
    return 0
