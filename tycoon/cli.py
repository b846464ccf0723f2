"""The `tycoon` command. Each subcommand lives in `tycoon.commands.<name>`."""

from __future__ import annotations

import argparse
import importlib
import sys

# one module per subcommand; each has add_parser(subparsers) setting `handler`
COMMANDS = ("run", "rollout", "envs", "show", "export", "serve", "instrumentation", "judge")
COMMANDS += ("eval", "leaderboard")  # tycoon.leaderboards: eval suites, leaderboard, site
COMMANDS += ("dataset", "env-server")  # task rows; OpenEnv server (tycoon.integrations)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tycoon",
        description="Long-horizon agentic RL environments: run a business for a simulated year.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tycoon.commands.{name.replace('-', '_')}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished step is in the database; --resume continues it",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
