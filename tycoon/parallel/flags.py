"""The command-line flags of Ray rollouts (`tycoon rollout --ray ...`)."""

from __future__ import annotations

import argparse

from tycoon.commands.common import _positive_int


def add_ray_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Ray (episodes over env-runner actors; pip install 'tycoon[ray]')"
    )
    group.add_argument(
        "--ray",
        action="store_true",
        help="run the episodes on Ray actors (a local Ray started for the run); an actor's "
        "episodes continue on another actor if it dies",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="join this Ray cluster (implies --ray); world state must then be PostgreSQL",
    )
    group.add_argument(
        "--actors",
        type=_positive_int,
        default=None,
        metavar="N",
        help="env-runner actors, each with --concurrency episodes in flight "
        "(default: one per CPU of the cluster)",
    )


def wants_ray(args: argparse.Namespace) -> bool:
    """--ray, --ray-address, --actors, or --workers W > 1 (its older name)."""
    if getattr(args, "workers", 1) > 1 and getattr(args, "actors", None) is None:
        args.actors = args.workers
    return bool(
        getattr(args, "ray", False)
        or getattr(args, "ray_address", None)
        or getattr(args, "actors", None)
    )
