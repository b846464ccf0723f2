"""VendingArena speed: steps/s of a scripted year with 2 and 4 operators, against a
single-agent Year on the same machine, and the cost of the market's night per operator.

    python benchmarks/bench_arena.py [--days 365] [--db sqlite|memory]

Every operator is the scripted baseline; each run commits every step (SQLite file by
default). "night" is the mean wall time of the steps that ran the market's night (the
last operator's `wait_for_next_day`: the market sale, every operator's night, the
detectors), divided by the number of operators.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import gymnasium

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agents.baseline import BaselineAgent
from tycoon.envs.arena import vending_arena_v0
from tycoon.runner import run_episode


def single_year(db: str, days: int) -> tuple[int, float]:
    env = gymnasium.make("tycoon/VendingYear-v0", db=db, config={"max_days": days})
    started = time.perf_counter()
    summary = run_episode(env, BaselineAgent(horizon_days=days), seed=3, progress=False)
    elapsed = time.perf_counter() - started
    env.close()
    return summary.steps, elapsed


def arena_year(db: str, days: int, operators: int) -> tuple[int, float, float]:
    env = vending_arena_v0.env(num_operators=operators, max_days=days, db=db)
    agents = [BaselineAgent(horizon_days=days) for _ in range(operators)]
    env.reset(seed=3)
    for seat, agent in enumerate(agents):
        name = env.possible_agents[seat]
        agent.reset(env.observe(name), env.infos[name])
    steps, nights, night_time = 0, 0, 0.0
    started = time.perf_counter()
    for name in env.agent_iter():
        observation, _r, terminated, truncated, info = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        action = agents[env.possible_agents.index(name)].act(observation, info)
        day_before = env.core.sim.market.day
        step_started = time.perf_counter()
        env.step(action)
        if env.core.sim.market.day != day_before:
            nights += 1
            night_time += time.perf_counter() - step_started
        steps += 1
    elapsed = time.perf_counter() - started
    env.close()
    return steps, elapsed, night_time / max(nights, 1) / operators


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", choices=("sqlite", "memory"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:

        def db(name: str) -> str:
            return ":memory:" if args.db == "memory" else str(Path(folder) / f"{name}.db")

        steps, elapsed = single_year(db("single"), args.days)
        single_rate = steps / elapsed
        print(f"{args.days}-day scripted run, baseline agents, {args.db} (every step committed)")
        print(
            f"{'run':<24}{'steps':>8}{'seconds':>10}{'steps/s':>10}{'vs single':>11}{'night/op':>11}"
        )
        print(
            f"{'single-agent Year':<24}{steps:>8}{elapsed:>10.2f}{single_rate:>10.0f}{1:>10.2f}x{'':>11}"
        )
        for operators in (2, 4):
            steps, elapsed, night = arena_year(db(f"arena{operators}"), args.days, operators)
            rate = steps / elapsed
            print(
                f"{f'arena, {operators} operators':<24}{steps:>8}{elapsed:>10.2f}{rate:>10.0f}"
                f"{rate / single_rate:>10.2f}x{night * 1e3:>9.2f}ms"
            )


if __name__ == "__main__":
    main()
