"""The `tycoon` command. Each subcommand lives in `tycoon.commands.<name>`.

Errors: a misuse (a bad flag, a missing file or episode, an unusable database, a missing
optional dependency) is one line, `tycoon: error: ...`, exit status 2; anything
unexpected is one line and exit status 1. `--debug` (anywhere on the line) shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
from collections.abc import Callable
from functools import partial
from typing import NoReturn

import tycoon

# one module per subcommand; each has add_parser(subparsers) setting `handler`
COMMANDS = (
    "run",
    "rollout",
    "episodes",
    "envs",
    "show",
    "export",
    "serve",
    "instrumentation",
    "judge",
    "eval",
    "leaderboard",
    "dataset",  # task rows every framework adapter reads
    "env-server",  # OpenEnv server (tycoon.integrations.openenv)
    "experiment",
)

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a tool its pipe's reader left

# the extra of pyproject.toml that installs each optional dependency
OPTIONAL_EXTRAS = {
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "ray": "ray",
    "vllm": "vllm",
    "pytest": "test",
}


class TycoonArgumentParser(argparse.ArgumentParser):
    """argparse with tycoon's one-line errors (subcommands inherit it)."""

    # the command line whose help describes this parser's flags, when `PROG --help` does
    # not (the arena's parser: its flags are not `tycoon run`'s)
    help_command: str | None = None

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("tycoon").strip()
        see = self.help_command or (f"tycoon {command} --help" if command else "tycoon --help")
        self.exit(EXIT_USAGE, f"tycoon: error: {message} (see {see})\n")


def build_parser() -> argparse.ArgumentParser:
    parser = TycoonArgumentParser(
        prog="tycoon",
        description="Long-horizon agentic RL environments: run a business for a simulated year.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (any position)"
    )
    # the package's own (pyproject's, which the test compares): no metadata scan at start
    parser.add_argument("--version", action="version", version=f"tycoon {tycoon.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tycoon.commands.{name.replace('-', '_')}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # between the stages, or a second Ctrl-C while one is told
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if argv is None:  # the process's command: nothing is left to do but exit
            _ctrl_c_ends_the_exit_quietly()


def _ctrl_c_ends_the_exit_quietly() -> None:
    """A Ctrl-C while Python shuts down (joining threads, atexit) would print a
    traceback: the signal's default action ends the process instead, as a shell
    reports Ctrl-C (everything is saved by then)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    except KeyboardInterrupt:  # one came just now (the command's result stands)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:  # not the main thread: no handler of this process to change
        pass


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    try:
        command = _parse(argv)
    except KeyboardInterrupt:  # Ctrl-C while the commands load (seconds on a busy machine)
        print("\ninterrupted before the command started: nothing ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    if command is None:
        return EXIT_USAGE
    args, handler = command
    try:
        return int(handler() or 0)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished step is in the database; --resume continues it",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _reader_left()
    except Exception as exc:
        if debug:
            raise
        message, status = describe_error(exc, args)
        print(f"tycoon: error: {message}", file=sys.stderr)
        if status == EXIT_FAILED and not _is_known_fault(exc):
            print("run with --debug for the traceback", file=sys.stderr)
        return status
    finally:
        from tycoon.commands.common import close_supplier_writers

        close_supplier_writers()


def _parse(argv: list[str]) -> tuple[argparse.Namespace, Callable[[], int | None]] | None:
    """The command line's arguments and the call that runs it (None: help was printed)."""
    from tycoon.commands import arena_run

    if arena_run.wants(argv):  # the arena takes one --agent per seat: its own parser
        return argparse.Namespace(env=arena_run.ENV_ID), partial(arena_run.main, argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return None
    return args, partial(args.handler, args)


def _reader_left() -> int:
    """Standard output's reader went away (`tycoon export | head`): stop quietly, as a
    shell's tools do, and let no later flush of standard output raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _is_known_fault(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    from tycoon.envs.world.store import StoreError, classify_database_error

    return isinstance(exc, StoreError) or (
        isinstance(exc, DBAPIError) and classify_database_error(exc) is not None
    )


def describe_error(exc: BaseException, args: argparse.Namespace | None = None) -> tuple[str, int]:
    """One line for an exception that ended a command, and the exit status."""
    from tycoon.commands.common import UsageError
    from tycoon.envs.world.store import (
        DRIVER_PACKAGES,
        StepNotSaved,
        StoreError,
        classify_database_error,
        describe_database_error,
    )

    if isinstance(exc, StepNotSaved):
        return f"{exc} {_resume_hint(exc.episode_id, args)}", EXIT_FAILED
    if isinstance(exc, UsageError | StoreError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        module = exc.name.split(".")[0]
        extra = OPTIONAL_EXTRAS.get(module)
        package = DRIVER_PACKAGES.get(module, module)
        hint = f"pip install 'tycoon[{extra}]'" if extra else f"pip install {package}"
        return f"{module} is not installed; install it with {hint}", EXIT_USAGE
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and _tables_differ(exc):
        return (
            f"expected a database tycoon wrote, got one whose tables differ "
            f"({describe_database_error(exc)})",
            EXIT_USAGE,
        )
    if isinstance(exc, DBAPIError):
        kind = classify_database_error(exc)
        status = EXIT_USAGE if kind in ("read_only", "unopenable") else EXIT_FAILED
        return f"the database failed: {describe_database_error(exc)}", status
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__, EXIT_FAILED


# what SQLite and PostgreSQL say of a table or column a query names and the file lacks
# (a database another tool wrote, with a table of the same name)
_TABLES_DIFFER = re.compile(
    r"no such (table|column)|(relation|column) \S+ does not exist", re.IGNORECASE
)


def _tables_differ(exc: BaseException) -> bool:
    return bool(_TABLES_DIFFER.search(str(getattr(exc, "orig", None) or exc)))


def _resume_hint(episode_id: int, args: argparse.Namespace | None) -> str:
    from tycoon.commands.common import DEFAULT_ENV

    env = getattr(args, "env", None)
    db = getattr(args, "db", None)
    flags = (f" --env {env}" if env and env != DEFAULT_ENV else "") + (f" --db {db}" if db else "")
    return f"Every earlier step is saved; continue with: tycoon run --resume {episode_id}{flags}"


if __name__ == "__main__":
    sys.exit(main())
