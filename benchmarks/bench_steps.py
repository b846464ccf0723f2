"""Step latency of the vending env, on SQLite and (optionally) PostgreSQL.

Prints, does not assert. What is measured (wall time around `env.step` only, with
`time.perf_counter_ns`, after warm-up steps):

- tool step: `get_balance` and `set_price` alternated (one SQL commit each). Steps whose
  clock ran past midnight (and so ran the night) are left out and counted.
- invalid action: an unknown tool (parse, refuse, write the trajectory row).
- day advance, idle machine: `wait_for_next_day` with nothing in the machine.
- day advance, stocked machine: `wait_for_next_day` in a Classic episode that a tiny
  scripted operator keeps stocked (orders by email, pays invoices, restocks every
  morning; all untimed); only nights with goods in the machine count.
- baseline year: if `tycoon.agents.AGENTS` has "baseline", a whole 365-day
  `tycoon/VendingYear-v0` episode (agent time included): wall time, steps, steps/s, and
  the env's share per tool.

    python benchmarks/bench_steps.py                      # SQLite only
    python benchmarks/bench_steps.py --postgres auto      # + a throwaway local server
    python benchmarks/bench_steps.py --postgres postgresql+psycopg://u@host/db
    python benchmarks/bench_steps.py --profile            # + cProfile hot spots (SQLite)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium

import tycoon  # registers the ids

# Targets from the project brief (SQLite): compared against, never asserted.
TARGET_TOOL_P50_MS = 0.5
TARGET_DAY_P50_MS = 5.0
TARGET_YEAR_S = 5.0


def call(name: str, **arguments: object) -> str:
    return json.dumps({"name": name, "arguments": arguments})


@dataclass
class Samples:
    label: str
    ns: list[int] = field(default_factory=list)
    note: str = ""

    def percentile(self, q: float) -> float:
        ordered = sorted(self.ns)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index] / 1e6

    @property
    def mean_ms(self) -> float:
        return sum(self.ns) / len(self.ns) / 1e6 if self.ns else float("nan")


def timed_step(env, action: str) -> tuple[int, tuple]:
    start = time.perf_counter_ns()
    result = env.step(action)
    return time.perf_counter_ns() - start, result


def make_env(env_id: str, db: str, **config: object):
    # unwrapped: no TimeLimit or checker wrappers, the env itself is measured
    return gymnasium.make(env_id, db=db, config=config or None).unwrapped


# -- scenarios --------------------------------------------------------------------------


def bench_tool_steps(db: str, n: int, warmup: int) -> tuple[Samples, Samples]:
    env = make_env("tycoon/VendingClassic-v0", db, max_steps=None)
    env.reset(seed=1)
    sku = next(iter(env.simulation.world.products))
    actions = [call("get_balance"), call("set_price", sku=sku, price=1.75)]
    tool = Samples("tool step (get_balance / set_price)")
    skipped = 0
    for i in range(warmup + n):
        day = env.simulation.world.day
        elapsed, _ = timed_step(env, actions[i % 2])
        if env.simulation.world.day != day:  # past midnight: that step ran the night
            skipped += 1
            continue
        if i >= warmup:
            tool.ns.append(elapsed)
    tool.note = f"{skipped} night-crossing steps left out"

    invalid = Samples("invalid action (unknown tool)")
    for i in range(warmup + n):
        elapsed, _ = timed_step(env, call("no_such_tool"))
        if i >= warmup:
            invalid.ns.append(elapsed)
    env.close()
    env.store.dispose()
    return tool, invalid


def bench_idle_days(db: str, days: int, warmup: int) -> Samples:
    env = make_env("tycoon/VendingYear-v0", db, max_days=days + warmup + 5)
    env.reset(seed=2)
    samples = Samples("day advance, idle machine")
    for i in range(warmup + days):
        elapsed, _ = timed_step(env, call("wait_for_next_day"))
        if i >= warmup:
            samples.ns.append(elapsed)
    env.close()
    env.store.dispose()
    return samples


_INVOICE = re.compile(r"pay \$([\d,.]+) with send_payment to account (\S+), memo (INV-\d+)")


class StockedMachine:
    """A Classic episode kept stocked by a tiny scripted operator (all its steps untimed).

    Day 1 it orders four skus from each of the first two suppliers found; every morning
    it pays new invoices, reorders when storage runs low and fills the machine from
    storage. Only the `wait_for_next_day` steps are measured.
    """

    def __init__(self, db: str, horizon: int) -> None:
        self.env = make_env("tycoon/VendingClassic-v0", db, max_steps=None, max_days=horizon)
        self.env.reset(seed=3)
        info = self.step(call("search_web", query="wholesale soda snacks chips candy", limit=5))
        self.orders = [
            (supplier["email"], ", ".join(f"{sku} x 40" for sku in supplier["skus"][:4]))
            for supplier in info["tool_result"]["results"][:2]
        ]
        self.pending_since: int | None = None
        self.reorder()

    def step(self, action: str) -> dict:
        return self.env.step(action)[4]

    @property
    def world(self):
        return self.env.simulation.world

    def reorder(self) -> None:
        for address, lines in self.orders:
            self.step(call("send_email", to=address, subject="Order", body=f"ORDER: {lines}"))
        self.pending_since = self.world.day

    def morning(self) -> None:
        """Pay invoices, reorder when low, restock; leave the day's clock short of midnight."""
        info = self.step(call("read_inbox", limit=50))
        for email in info["tool_result"]["emails"]:
            match = _INVOICE.search(email["body"])
            amount = float(match[1].replace(",", "")) if match else 0
            if match and amount * 100 < self.world.balance("bank") - 2_000:
                self.step(call("send_payment", to_account=match[2], amount=amount, memo=match[3]))
        stored = sum(item.quantity for item in self.world.storage.values())
        if stored < 60 and (self.pending_since is None or self.world.day - self.pending_since > 5):
            self.reorder()
        for sku, item in list(self.world.storage.items()):
            if item.quantity > 0 and self.world.minute < 20 * 60:
                self.step(call("stock_machine", sku=sku, quantity=item.quantity))
        if stored:
            self.pending_since = None

    def units_in_machine(self) -> int:
        return sum(slot.quantity for slot in self.world.slots)


def bench_stocked_days(db: str, days: int, warmup: int) -> Samples:
    machine = StockedMachine(db, horizon=days + warmup + 30)
    samples = Samples("day advance, stocked machine")
    empty_nights = sold = 0
    for i in range(warmup + days):
        machine.morning()
        stocked = machine.units_in_machine()
        elapsed, result = timed_step(machine.env, call("wait_for_next_day"))
        if not stocked:
            empty_nights += 1
        elif i >= warmup:
            samples.ns.append(elapsed)
            sold += result[4]["night"]["units_sold"]
    samples.note = (
        f"{sold / max(1, len(samples.ns)):.1f} units sold a night; "
        f"{empty_nights} nights with an empty machine left out"
    )
    machine.env.close()
    machine.env.store.dispose()
    return samples


@dataclass
class YearResult:
    wall_s: float
    env_s: float
    steps: int
    days: int
    status: str
    bank: float
    per_tool: dict[str, Samples]


def bench_baseline_year(db: str, days: int) -> YearResult | None:
    try:
        from tycoon.agents import AGENTS
    except ImportError:
        return None
    if "baseline" not in AGENTS:
        return None
    env = gymnasium.make("tycoon/VendingYear-v0", db=db, config={"max_days": days}).unwrapped
    agent_class = AGENTS["baseline"]
    try:
        agent = agent_class(horizon_days=days)
    except TypeError:
        agent = agent_class()
    per_tool: dict[str, Samples] = defaultdict(lambda: Samples(""))
    start = time.perf_counter_ns()
    observation, info = env.reset(seed=4)
    agent.reset(observation, info)
    env_ns = 0
    steps = 0
    while True:
        action = agent.act(observation, info)
        elapsed, (observation, _, terminated, truncated, info) = timed_step(env, action)
        env_ns += elapsed
        steps += 1
        per_tool[info.get("tool") or "(invalid)"].ns.append(elapsed)
        if terminated or truncated:
            break
    wall = (time.perf_counter_ns() - start) / 1e9
    result = YearResult(
        wall_s=wall,
        env_s=env_ns / 1e9,
        steps=steps,
        days=info["day"] - 1,  # days passed (info["day"] counts from 1)
        status=info["status"],
        bank=info["bank_balance"],
        per_tool=dict(per_tool),
    )
    env.close()
    env.store.dispose()
    return result


# -- report -----------------------------------------------------------------------------


def print_samples(backend: str, rows: list[tuple[Samples, float | None]]) -> None:
    print(f"\n[{backend}]")
    print(f"{'scenario':40} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'target':>9}")
    for samples, target in rows:
        target_text = f"p50<={target:g}" if target is not None and backend == "sqlite" else ""
        print(
            f"{samples.label:40} {len(samples.ns):>6} {samples.percentile(50):>8.3f} "
            f"{samples.percentile(99):>8.3f} {samples.mean_ms:>8.3f} {target_text:>9}"
            + (f"  ({samples.note})" if samples.note else "")
        )


def print_year(backend: str, year: YearResult | None, days: int) -> None:
    if year is None:
        print(f"{'baseline year':40} skipped: no 'baseline' in tycoon.agents.AGENTS")
        return
    target = f"target <= {TARGET_YEAR_S:g} s" if backend == "sqlite" else ""
    print(
        f"baseline {days}-day episode: {year.wall_s:.2f} s wall ({year.env_s:.2f} s in env.step), "
        f"{year.steps} steps, {year.steps / year.wall_s:,.0f} steps/s, {year.days} days, "
        f"{year.status}, bank ${year.bank:,.2f}  {target}"
    )
    print(f"  {'tool':28} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'total s':>8}")
    for name, samples in sorted(year.per_tool.items(), key=lambda kv: -sum(kv[1].ns)):
        print(
            f"  {name:28} {len(samples.ns):>6} {samples.percentile(50):>8.3f} "
            f"{samples.percentile(99):>8.3f} {sum(samples.ns) / 1e9:>8.2f}"
        )


def run_backend(backend: str, make_db: Callable[[str], str], args: argparse.Namespace) -> None:
    tool, invalid = bench_tool_steps(make_db("tool"), args.steps, args.warmup)
    idle = bench_idle_days(make_db("idle"), args.days, min(args.warmup, 20))
    stocked = bench_stocked_days(make_db("stocked"), args.days, min(args.warmup, 5))
    print_samples(
        backend,
        [
            (tool, TARGET_TOOL_P50_MS),
            (invalid, None),
            (idle, TARGET_DAY_P50_MS),
            (stocked, TARGET_DAY_P50_MS),
        ],
    )
    if args.year_days:
        print_year(backend, bench_baseline_year(make_db("year"), args.year_days), args.year_days)


def profile(args: argparse.Namespace, workdir: Path) -> None:
    def show(title: str, profiler: cProfile.Profile) -> None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.profile_top)
        # and tycoon's own functions by cumulative time (what to optimise, in our code)
        ours = pstats.Stats(profiler, stream=out)
        ours.sort_stats("cumulative").print_stats(r"/(envs|tycoon|rewards|agents)/", 20)
        print(f"\n== cProfile: {title} (by own time; then tycoon functions by cumulative) ==")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))

    db = f"sqlite:///{workdir / 'profile-tool.db'}"
    env = make_env("tycoon/VendingClassic-v0", db, max_steps=None)
    env.reset(seed=1)
    sku = next(iter(env.simulation.world.products))
    actions = [call("get_balance"), call("set_price", sku=sku, price=1.75)]
    for i in range(100):
        env.step(actions[i % 2])
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.steps):
        if env.simulation.world.minute > 22 * 60:
            profiler.disable()
            env.step(call("wait_for_next_day"))
            profiler.enable()
        env.step(actions[i % 2])
    profiler.disable()
    show(f"{args.steps} tool steps", profiler)

    machine = StockedMachine(f"sqlite:///{workdir / 'profile-day.db'}", args.days + 40)
    profiler = cProfile.Profile()
    for _ in range(args.days):
        machine.morning()
        profiler.enable()
        machine.env.step(call("wait_for_next_day"))
        profiler.disable()
    show(f"{args.days} stocked day advances", profiler)


@contextlib.contextmanager
def postgres_url(option: str) -> Iterator[str]:
    if option != "auto":
        yield option
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pg_server import running_postgres

    with running_postgres() as url:
        yield url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="tool-step samples")
    parser.add_argument("--days", type=int, default=200, help="day-advance samples")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up steps (untimed)")
    parser.add_argument(
        "--year-days", type=int, default=365, help="baseline episode length (0: skip)"
    )
    parser.add_argument("--postgres", metavar="URL|auto", help="also run on PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="cProfile hot spots (SQLite)")
    parser.add_argument("--profile-top", type=int, default=25)
    args = parser.parse_args(argv)

    print(
        f"python {sys.version.split()[0]}, tycoon {tycoon.__version__}; "
        f"targets (SQLite): tool step p50 <= {TARGET_TOOL_P50_MS} ms, day advance p50 <= "
        f"{TARGET_DAY_P50_MS} ms, {args.year_days}-day baseline <= {TARGET_YEAR_S} s"
    )
    with tempfile.TemporaryDirectory(prefix="tycoon-bench-") as tmp:
        workdir = Path(tmp)
        run_backend("sqlite", lambda name: f"sqlite:///{workdir / name}.db", args)
        if args.postgres:
            with postgres_url(args.postgres) as url:
                run_backend("postgresql", lambda _name: url, args)
        if args.profile:
            profile(args, workdir)


if __name__ == "__main__":
    main()
