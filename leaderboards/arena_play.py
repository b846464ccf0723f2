"""Playing an arena run's markets: new ones started, killed ones resumed, several at once.

Each market is played by `tycoon.commands.arena_run.play_parallel` (the runner of
`tycoon run --env tycoon/VendingArena-v0`), with its seats' agents built as that command
builds them (`make_seat_agent`) and its `run_spec` as that command stores it plus the
eval run and the seating, so `tycoon run --resume MARKET` can also finish a market of an
eval. Markets with LLM seats overlap on one event loop (`--concurrency` markets in
flight), so their model calls are in flight together; scripted markets never wait, so
they run one after another.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

from tycoon.arena_runner import MarketSummary
from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.arena import ArenaRunSpec, PlannedMarket

DEFAULT_DAYS = 365  # the arena's own default, for a suite without max_days


class MarketOutcome(BaseModel):
    planned: PlannedMarket
    summary: MarketSummary | None = None
    error: str | None = None  # why the market stopped before its end


def market_args(
    args: argparse.Namespace, spec: ArenaRunSpec, planned: PlannedMarket
) -> argparse.Namespace:
    """The flags `tycoon run` would have for this market (what `make_seat_agent` and
    `market_spec` read)."""
    values = run_flags(args)
    values.update(
        agent=[spec.entrants[i] for i in planned.seating],
        scenario=planned.scenario,
        seed=planned.seed,
        max_days=spec.max_days or DEFAULT_DAYS,
        resume=planned.market_id,
    )
    return argparse.Namespace(**values)


def run_flags(args: argparse.Namespace) -> dict[str, Any]:
    """`tycoon run`'s arena flags at their defaults (probes, judge, ...), overridden by the
    eval's: the arena runner reads them all, and eval has no reason to know each one."""
    from tycoon.commands.arena_run import ENV_ID, build_parser

    return {**vars(build_parser().parse_args(["--env", ENV_ID])), **vars(args)}


def check_entrants(args: argparse.Namespace, spec: ArenaRunSpec) -> None:
    """Build every entrant's agent once (a ValueError names a bad one), before anything
    is written."""
    from tycoon.commands.arena_run import make_seat_agent

    probe = argparse.Namespace(
        **{**run_flags(args), "seed": spec.seeds[0], "max_days": spec.max_days or DEFAULT_DAYS}
    )
    for entrant in spec.entrants:
        agent = make_seat_agent(entrant, probe)
        client = getattr(agent, "client", None)
        if client is not None:
            asyncio.run(client.close())


async def play_markets(
    args: argparse.Namespace,
    spec: ArenaRunSpec,
    store: WorldStore,
    run_id: int,
    todo: list[PlannedMarket],
    *,
    concurrency: int,
    progress: bool,
) -> list[MarketOutcome]:
    bar = tqdm(total=len(todo), unit="market", desc=f"eval {spec.suite}", disable=not progress)
    gate = asyncio.Semaphore(concurrency)

    async def one(planned: PlannedMarket) -> MarketOutcome:
        async with gate:
            try:
                summary = await play_market_of_run(args, spec, store, run_id, planned)
            except Exception as exc:  # one market's failure must not stop the others
                return MarketOutcome(planned=planned, error=f"{type(exc).__name__}: {exc}")
            finally:
                bar.update(1)
            return MarketOutcome(planned=planned, summary=summary)

    try:
        return list(await asyncio.gather(*(one(p) for p in todo)))
    finally:
        bar.close()


async def play_market_of_run(
    args: argparse.Namespace,
    spec: ArenaRunSpec,
    store: WorldStore,
    run_id: int,
    planned: PlannedMarket,
) -> MarketSummary:
    """Play one market of the run to its end (or continue it from its market id)."""
    from tycoon.commands.arena_run import make_seat_agent, market_spec, play_parallel
    from tycoon.envs.arena import vending_arena_v0

    seat_args = market_args(args, spec, planned)
    agents = [make_seat_agent(entrant, seat_args) for entrant in seat_args.agent]
    run_spec = {**market_spec(seat_args), "eval_run": run_id, "seating": list(planned.seating)}
    env = vending_arena_v0.parallel_env(
        num_operators=spec.operators,
        store=store,
        scenario=planned.scenario,
        max_days=seat_args.max_days,
        agent_names=[entrant.split(":", 1)[0] for entrant in seat_args.agent],
        model_names=[entrant.partition(":")[2] for entrant in seat_args.agent],
        run_spec=run_spec,
    )
    try:
        return await play_parallel(
            env, agents, seed=planned.seed, progress=False, resume=planned.market_id
        )
    finally:
        env.close()
        await _close_clients(agents)


async def _close_clients(agents: list[Any]) -> None:
    for agent in agents:
        client = getattr(agent, "client", None)
        if client is not None:
            await client.close()
