"""`tycoon env-server`: an OpenEnv server (HTTP and WebSocket) over one database."""

from __future__ import annotations

import argparse
import sys

from tycoon.commands.common import DEFAULT_DB, DEFAULT_ENV, whole_number_flag


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "env-server",
        help="serve an environment over OpenEnv's HTTP/WebSocket protocol (tycoon[openenv])",
        description="Serve one environment with openenv-core's server: POST /reset, "
        "POST /step (list_tools / call_tool actions), GET /state, WebSocket /ws. HTTP is "
        "stateless: pass the episode_id that /reset returned with every /step.",
    )
    parser.add_argument(
        "--env", default=DEFAULT_ENV, help=f"environment id (default {DEFAULT_ENV})"
    )
    parser.add_argument(
        "--db", default=DEFAULT_DB, help=f"SQLite file or SQLAlchemy URL (default {DEFAULT_DB})"
    )
    parser.add_argument(
        "--scenario", default=None, help="scenario of new episodes (default: the env's own)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=whole_number_flag, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--max-sessions",
        type=whole_number_flag,
        default=64,
        help="concurrent WebSocket sessions (default 64)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tycoon.integrations import MissingExtra

    try:
        from tycoon.integrations.openenv import create_app
    except MissingExtra as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    import uvicorn  # a dependency of openenv-core

    try:
        app = create_app(args.env, args.db, scenario=args.scenario, max_sessions=args.max_sessions)
    except ValueError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"tycoon env-server: {args.env} at http://{args.host}:{args.port} "
        f"(ws://{args.host}:{args.port}/ws), database {args.db}",
        flush=True,
    )
    # uvicorn handles SIGINT/SIGTERM itself: open sessions are closed, then it returns
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
