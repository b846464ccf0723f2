"""PostgreSQL round trips per step, and a PostgreSQL step's time next to SQLite's, in one
process. Prints, asserts nothing.

What is measured (a Year episode, seed 1; wall time around `env.step` with
`time.perf_counter_ns`, after warm-up):

- `get_balance` and `set_price` steps, alternating (a product's price row exists before
  the first measured step; steps near midnight are preceded by an untimed night);
- night: `wait_for_next_day` in an episode that the `oracle` agent runs (orders, stocks,
  prices, so the nights sell); only its nights are timed, its other steps are not.

Round trips are counted in a separate, untimed pass (tracing costs time):
`tycoon.envs.world.round_trips.RoundTripCounter` reads libpq's protocol trace and counts
the server's ReadyForQuery messages; each ends one exchange the client waited for (a
Sync, a whole pipeline's included, or a simple Query). BEGIN sent alone, a liveness ping,
a statement run outside a pipeline each count one.

    python benchmarks/bench_pg_roundtrips.py                  # a throwaway local server
    python benchmarks/bench_pg_roundtrips.py --postgres postgresql+psycopg://u@host/db

The server's durability settings change a commit's cost; the figures print them. The
throwaway server (tests/pg_server.py) runs with fsync=off and synchronous_commit=off;
a server a user runs would keep fsync=on, and synchronous_commit=off is the setting
comparable to tycoon's SQLite (WAL, synchronous=NORMAL: a commit does not wait for the
disk, a crash loses at most the last moments and corrupts nothing).

`benchmarks/bench_steps.py` may print the same figures with
`summary_line(measure(sqlite_url, postgres_url))`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium
from sqlalchemy import NullPool, create_engine

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agents import AGENTS
from tycoon.envs.world.round_trips import RoundTripCounter

ENV_ID = "tycoon/VendingYear-v0"
GOAL_PG_RATIO = 1.5  # issue 8: a PostgreSQL step <= 1.5x SQLite on loopback
STEPS = ("get_balance", "set_price", "night")


def call(name: str, **arguments: object) -> str:
    return json.dumps({"name": name, "arguments": arguments})


@dataclass
class Backend:
    """One database's figures: step times (ns) and round trips, by step kind."""

    ns: dict[str, list[int]] = field(default_factory=lambda: {name: [] for name in STEPS})
    trips: dict[str, list[int]] = field(default_factory=lambda: {name: [] for name in STEPS})

    def p50_us(self, name: str) -> float:
        ordered = sorted(self.ns[name])
        return ordered[len(ordered) // 2] / 1e3 if ordered else float("nan")

    def trips_per_step(self, name: str) -> float:
        counts = self.trips[name]
        return sum(counts) / len(counts) if counts else float("nan")


@dataclass
class Figures:
    sqlite: Backend
    postgres: Backend
    server: str = ""  # the PostgreSQL server's durability settings

    def ratio(self, name: str) -> float:
        return self.postgres.p50_us(name) / self.sqlite.p50_us(name)


def _make(db: str):
    env = gymnasium.make(ENV_ID, db=db).unwrapped
    observation, info = env.reset(seed=1)
    return env, observation, info


def _measure_step(env, action, figures: Backend, name: str, counter, record: bool) -> tuple:
    if counter is not None:
        counter.take()
    start = time.perf_counter_ns()
    result = env.step(action)
    elapsed = time.perf_counter_ns() - start
    if record:
        figures.ns[name].append(elapsed)
        if counter is not None:
            figures.trips[name].append(counter.take())
    return result


def cheap_steps(db: str, figures: Backend, steps: int, warmup: int, count: bool) -> None:
    env, _, _ = _make(db)
    counter = RoundTripCounter(env.store.engine) if count else None
    sku = next(iter(env.simulation.world.products))
    env.step(call("set_price", sku=sku, price=1.5))  # the price row exists from here on
    actions = {"get_balance": call("get_balance"), "set_price": call("set_price", sku=sku, price=0)}
    for i in range(warmup + steps):
        if env.simulation.world.minute > 22 * 60:  # keep the measured steps short of midnight
            env.step(call("wait_for_next_day"))
        name = "get_balance" if i % 2 == 0 else "set_price"
        action = (
            actions[name]
            if name == "get_balance"
            else call("set_price", sku=sku, price=1.5 + i % 7 / 100)
        )
        _measure_step(env, action, figures, name, counter, record=i >= warmup)
    if counter is not None:
        counter.close()
    env.close()
    env.store.dispose()


def nights(db: str, figures: Backend, days: int, warmup_days: int, count: bool) -> None:
    env, observation, info = _make(db)
    counter = RoundTripCounter(env.store.engine) if count else None
    agent = AGENTS["oracle"]()
    agent.reset(observation, info)
    while env.simulation.world.day < warmup_days + days:
        action = agent.act(observation, info)
        name = action.name if hasattr(action, "name") else ""
        record = name == "wait_for_next_day" and env.simulation.world.day >= warmup_days
        observation, _, terminated, truncated, info = _measure_step(
            env, action, figures, "night", counter, record
        )
        if terminated or truncated:
            break
    if counter is not None:
        counter.close()
    env.close()
    env.store.dispose()


def measure(
    sqlite_url: str,
    postgres_url: str,
    *,
    steps: int = 600,
    days: int = 40,
    warmup: int = 100,
    count_steps: int = 60,
) -> Figures:
    """Step times on both databases, and PostgreSQL's round trips per step."""
    figures = Figures(Backend(), Backend())
    for db, backend in ((sqlite_url, figures.sqlite), (postgres_url, figures.postgres)):
        cheap_steps(db, backend, steps, warmup, count=False)
        nights(db, backend, days, warmup_days=5, count=False)
    counted = Backend()  # the round trips, untimed
    cheap_steps(postgres_url, counted, count_steps, 10, count=True)
    nights(postgres_url, counted, max(5, days // 4), warmup_days=5, count=True)
    figures.postgres.trips = counted.trips
    figures.server = server_settings(postgres_url)
    return figures


DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


def server_settings(url: str) -> str:
    """The server's settings that decide what a commit costs, e.g. "fsync=off, ..."."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        values = [
            f"{name}={conn.exec_driver_sql(f'SHOW {name}').scalar()}"
            for name in DURABILITY_SETTINGS
        ]
    engine.dispose()
    return ", ".join(values)


def summary_line(figures: Figures) -> str:
    """One line: PostgreSQL round trips per step and its time relative to SQLite."""
    parts = [
        f"{name} {figures.postgres.trips_per_step(name):.1f} rt, {figures.ratio(name):.2f}x SQLite"
        for name in STEPS
    ]
    server = f" (server: {figures.server})" if figures.server else ""
    return f"PostgreSQL per step (goal <= {GOAL_PG_RATIO:g}x SQLite){server}: " + "; ".join(parts)


def print_table(figures: Figures) -> None:
    print(f"{'step':12} {'n':>5} {'SQLite p50 us':>14} {'PG p50 us':>10} {'PG/SQLite':>10} "
          f"{'goal':>6} {'PG round trips':>15}")  # fmt: skip
    for name in STEPS:
        print(
            f"{name:12} {len(figures.postgres.ns[name]):>5} {figures.sqlite.p50_us(name):>14.1f} "
            f"{figures.postgres.p50_us(name):>10.1f} {figures.ratio(name):>9.2f}x "
            f"{GOAL_PG_RATIO:>5g}x {figures.postgres.trips_per_step(name):>15.2f}"
        )
    print(summary_line(figures))


@contextlib.contextmanager
def postgres_server(option: str) -> Iterator[str]:
    if option != "auto":
        yield option
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pg_server import running_postgres

    with running_postgres() as url:
        yield url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="auto", metavar="URL|auto")
    parser.add_argument("--steps", type=int, default=600, help="cheap-step samples per kind x2")
    parser.add_argument("--days", type=int, default=40, help="night samples")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up cheap steps")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tycoon-pg-bench-") as tmp:
        with postgres_server(args.postgres) as url:
            figures = measure(
                f"sqlite:///{Path(tmp) / 'bench.db'}",
                url,
                steps=args.steps,
                days=args.days,
                warmup=args.warmup,
            )
        print_table(figures)


if __name__ == "__main__":
    main()
