"""Forking a whole market from its database (what `tycoon run --fork MARKET` does).

`ArenaSimulation.fork` copies every operator's episode (world, trajectory, model-call
journal) and every market row. Here the market is first opened, which takes every seat's
lease: a market that another process is running is refused (`EpisodeBusy`) rather than
copied between two of its steps. The copy records where it came from in its run spec
(`forked_from`), and continues, with the same actions, exactly as the original would.
"""

from __future__ import annotations

from pydantic import BaseModel

from tycoon.envs.arena.schema import ArenaMarket
from tycoon.envs.arena.simulation import ArenaSimulation
from tycoon.envs.world.store import StoreError, WorldStore


class MarketFork(BaseModel):
    source_market_id: int
    market_id: int
    step: int  # the source's market steps at the fork (the copy starts there)
    day: int  # the source's market day at the fork (0-based)


def fork_market(store: WorldStore, market_id: int) -> MarketFork:
    """Copy market `market_id` as it was at its last committed step."""
    simulation = ArenaSimulation(store, market_id)
    try:
        step, day = simulation.market.step_count, simulation.market.day
        new_id = simulation.fork()
    finally:
        simulation.close()
    with store.session() as session:
        copy = session.get(ArenaMarket, new_id)
        if copy is None:  # cannot happen: fork() committed it
            raise StoreError(f"Expected the forked market {new_id} in the database, got none")
        copy.run_spec = {
            **(copy.run_spec or {}),
            "forked_from": {"market": market_id, "step": step, "day": day},
        }
        session.commit()
    return MarketFork(source_market_id=market_id, market_id=new_id, step=step, day=day)


__all__ = ["MarketFork", "fork_market"]
