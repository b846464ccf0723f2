"""Playing one VendingArena market with one synchronous agent per seat.

`play_market` drives the AEC env: the operator whose clock is earliest acts; a finished
operator takes its dead step. Scripted agents (the `Agent` protocol) see only their own
observation and info, as in the single-agent runner. `market_scores` gives, per
operator, the bank balance at the end, the market share (of the market's revenue) and
the rank.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import func, select
from tqdm import tqdm

from tycoon.agents.base import Agent
from tycoon.envs.arena.config import seat_name
from tycoon.envs.arena.schema import ArenaPrice
from tycoon.envs.arena.vending_arena_v0 import raw_env


class OperatorScore(BaseModel):
    operator: str
    agent: str
    status: str
    bank_cents: int
    net_worth_cents: int
    revenue_cents: int
    units_sold: int
    market_share: float  # of the market's revenue over the run, 0..1
    rank: int  # 1 = the highest bank balance


class MarketSummary(BaseModel):
    market_id: int
    days: int
    steps: int
    state_hash: str
    operators: list[OperatorScore]


def play_market(
    env: raw_env,
    agents: Sequence[Agent],
    *,
    seed: int | None = None,
    max_steps: int | None = None,
    progress: bool = False,
) -> MarketSummary:
    """Reset the env and play until every operator is done (or `max_steps` actions)."""
    if len(agents) != len(env.possible_agents):
        raise ValueError(
            f"Expected one agent per seat ({len(env.possible_agents)}), got {len(agents)}"
        )
    env.reset(seed=seed)
    for seat, agent in enumerate(agents):
        name = seat_name(seat)
        agent.reset(env.observe(name), env.infos[name])
    steps = 0
    bar = tqdm(total=env.core.config.max_days, unit="day", disable=not progress)
    day = 1
    for name in env.agent_iter():
        observation, _reward, terminated, truncated, info = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        if max_steps is not None and steps >= max_steps:
            break
        action = agents[env.possible_agents.index(name)].act(observation, info)
        env.step(action)
        steps += 1
        if env.core.sim.market.day + 1 > day:
            bar.update(env.core.sim.market.day + 1 - day)
            day = env.core.sim.market.day + 1
    bar.close()
    return market_summary(env, [getattr(agent, "name", "agent") for agent in agents])


def market_summary(env: raw_env, agent_names: Sequence[str]) -> MarketSummary:
    sim = env.core.sim
    scores = market_scores(env, agent_names)
    return MarketSummary(
        market_id=sim.market_id,
        days=sim.market.day,
        steps=sim.market.step_count,
        state_hash=sim.state_hash(),
        operators=scores,
    )


def market_scores(env: raw_env, agent_names: Sequence[str]) -> list[OperatorScore]:
    from tycoon.envs.arena import operators

    sim = env.core.sim
    with sim.store.session() as session:
        rows = session.execute(
            select(
                ArenaPrice.seat, func.sum(ArenaPrice.revenue_cents), func.sum(ArenaPrice.units_sold)
            )
            .where(ArenaPrice.market_id == sim.market_id)
            .group_by(ArenaPrice.seat)
        ).all()
    revenue = {seat: int(total or 0) for seat, total, _ in rows}
    units = {seat: int(count or 0) for seat, _, count in rows}
    market_revenue = sum(revenue.values())
    banks = {i: operators.bank_cents(sim.worlds[i]) for i in range(sim.count)}
    order = sorted(range(sim.count), key=lambda i: (-banks[i], i))
    return [
        OperatorScore(
            operator=seat_name(i),
            agent=agent_names[i] if i < len(agent_names) else "",
            status=sim.status(i),
            bank_cents=banks[i],
            net_worth_cents=operators.net_worth_cents(sim.worlds[i]),
            revenue_cents=revenue.get(i, 0),
            units_sold=units.get(i, 0),
            market_share=revenue.get(i, 0) / market_revenue if market_revenue else 0.0,
            rank=order.index(i) + 1,
        )
        for i in range(sim.count)
    ]


def describe(summary: MarketSummary) -> str:
    lines = [f"market {summary.market_id}: {summary.days} days, {summary.steps} steps"]
    lines.append(f"  state hash {summary.state_hash}")
    for score in summary.operators:
        lines.append(
            f"  #{score.rank} {score.operator} ({score.agent}): bank ${score.bank_cents / 100:,.2f}, "
            f"net worth ${score.net_worth_cents / 100:,.2f}, share {score.market_share:.0%}, "
            f"{score.units_sold} units, {score.status}"
        )
    return "\n".join(lines)


__all__ = ["MarketSummary", "OperatorScore", "describe", "market_scores", "play_market"]
