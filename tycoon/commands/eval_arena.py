"""`tycoon eval arena --agent A --agent B [--agent C ...]`: entrants head to head.

`tycoon eval` hands a suite with `operators` (leaderboards/suites/arena.yaml) here. Each
`--agent` is an entrant (a scripted agent's name or `openai:MODEL`, as for `tycoon run
--env tycoon/VendingArena-v0`); every group of entrants plays every seed in every seat
rotation (`tycoon.leaderboards.arena`). The same command again continues the run:
finished markets are kept, a killed one resumes from its market id.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tycoon.commands.common import UsageError, open_store, refuse_unused_llm_flags
from tycoon.leaderboards.suite import Suite

EXIT_USAGE = 2


def arena_spec(args: argparse.Namespace, suite: Suite):  # -> ArenaRunSpec
    """The run's spec from the flags, or a UsageError naming what does not fit."""
    from tycoon.commands.eval import parse_seeds
    from tycoon.envs.arena.config import ArenaConfig
    from tycoon.leaderboards.arena import ArenaRunSpec
    from tycoon.leaderboards.arena_play import check_entrants
    from tycoon.parallel.flags import wants_ray

    entrants = list(args.agent or [])
    assert suite.operators is not None
    if len(entrants) < 2:
        raise UsageError(
            f"suite {suite.name} plays entrants against each other: expected at least 2 "
            f"--agent flags (one per entrant, e.g. --agent baseline --agent idle), got "
            f"{len(entrants)}"
        )
    repeated = sorted({e for e in entrants if entrants.count(e) > 1})
    if repeated:
        raise UsageError(f"expected distinct entrants, got {', '.join(repeated)} more than once")
    if args.model:
        raise UsageError(
            f"suite {suite.name} names each model in its entrant: --agent openai:MODEL, "
            f"got --model {args.model}"
        )
    if args.max_steps is not None:
        raise UsageError(f"suite {suite.name} limits days (--max-days), got --max-steps")
    if wants_ray(args):
        raise UsageError(f"suite {suite.name} runs its markets in this process; drop --ray")
    if getattr(args, "supplier_model", None):
        raise UsageError(f"suite {suite.name} has no LLM supplier writer; drop --supplier-model")
    scripted = [e for e in entrants if not e.startswith("openai:")]
    refuse_unused_llm_flags(  # as `run` and `rollout` refuse them for a scripted agent
        args,
        llm_agent=len(scripted) < len(entrants),
        agents=f"no openai:MODEL entrant ({', '.join(scripted)})",
    )
    try:
        spec = ArenaRunSpec.build(
            suite,
            entrants=entrants,
            base_url=args.base_url,
            seeds=parse_seeds(args.seeds),
            max_days=args.max_days,
        )
        spec.seatings()
        for scenario in spec.scenarios:
            ArenaConfig(
                num_operators=spec.operators, scenario=scenario, max_days=spec.max_days or 365
            )
        check_entrants(args, spec)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return spec


def handle_arena(args: argparse.Namespace, suite: Suite) -> int:
    from tycoon.commands.eval import exit_status
    from tycoon.envs.arena.core import ensure_arena_tables
    from tycoon.leaderboards.arena import arena_boards, finish_if_complete, planned_markets
    from tycoon.leaderboards.arena_play import play_markets
    from tycoon.leaderboards.arena_tables import render_arena_table
    from tycoon.leaderboards.runs import open_eval_run

    try:
        spec = arena_spec(args, suite)
        store = open_store(args.db)
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ensure_arena_tables(store)
    run_id, resumed = open_eval_run(store, spec)
    planned = planned_markets(store, run_id, spec)
    todo = [p for p in planned if not p.finished]
    print(
        f"eval run {run_id}: suite {spec.suite}, entrants {', '.join(spec.entrants)}, "
        f"{len(planned)} market(s) of {spec.operators} operators"
        + (f", continuing ({len(planned) - len(todo)} already finished)" if resumed else ""),
        file=sys.stderr,
    )
    outcomes = asyncio.run(
        play_markets(
            args, spec, store, run_id, todo,
            concurrency=args.concurrency, progress=not args.no_progress,
        )
    )  # fmt: skip
    complete = finish_if_complete(store, run_id, spec)
    board = next(b for b in arena_boards(store, suite=spec.suite) if b.run_id == run_id)
    store.dispose()
    print(render_arena_table([board]))
    failed = [o.error for o in outcomes if o.error]
    return exit_status(run_id, complete, failed[0] if failed else None)
