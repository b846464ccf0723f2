"""`tycoon envs`: the registered environments, one line each."""

from __future__ import annotations

import argparse

import tycoon


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("envs", help="list the registered environments")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tycoon.registration import MULTI_AGENT_ENVIRONMENTS

    specs = [*tycoon.ENVIRONMENTS, *MULTI_AGENT_ENVIRONMENTS]
    width = max(len(spec["id"]) for spec in specs)
    for spec in specs:
        print(f"{spec['id']:<{width}}  {spec['summary']}")
    return 0
