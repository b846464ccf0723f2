"""The tools' share of the scripted Year. Prints, asserts nothing.

One 365-day `tycoon/VendingYear-v0` episode (seed 4, the baseline agent), in memory with
the writes off (`bench_steps.writes_off`), with timers around the parts this measures
(`time.perf_counter_ns`; the wrappers cost ~0.1 us a call, in every figure alike):

- each tool's `run` on the world, and the validation of its arguments (`model_validate`,
  as `bind_tool` calls it);
- the world's money reads every step makes: `inventory_value_cents` and
  `net_worth_cents` (which reads the former).

Per part: calls, p50 and mean in microseconds, and the sum over the Year in
milliseconds. The rest of a step (the step row, reward, info, commit) is
bench_steps.py's.

    python benchmarks/bench_tools.py
    python benchmarks/bench_tools.py --days 120
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_steps

from tycoon.agents import AGENTS
from tycoon.envs.vending.tools import TOOLS
from tycoon.envs.vending.world import VendingWorld

Timings = dict[str, list[int]]
_INHERITED = object()  # an attribute the class takes from a base class


def timed(timings: Timings, key: str, function: Callable[..., Any]) -> Callable[..., Any]:
    clock = time.perf_counter_ns

    def measured(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            timings[key].append(clock() - started)

    return measured


@contextlib.contextmanager
def timers(timings: Timings) -> Iterator[None]:
    """Timers around each tool's run and validation and the world's money reads."""
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, key: str, replacement: Callable[[Any], Any]) -> None:
        saved.append((owner, name, owner.__dict__.get(name, _INHERITED)))
        setattr(owner, name, replacement(timed(timings, key, getattr(owner, name))))

    for tool in TOOLS.values():
        wrap(tool, "run", f"run {tool.name}", lambda f: f)
        wrap(tool, "model_validate", f"validate {tool.name}", staticmethod)
    for name in ("inventory_value_cents", "net_worth_cents"):
        wrap(VendingWorld, name, f"world {name}", lambda f: f)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def run_year(days: int) -> Timings:
    env = bench_steps.make_env("tycoon/VendingYear-v0", "sqlite://", "episode", max_days=days)
    agent = AGENTS["baseline"](horizon_days=days)
    observation, info = env.reset(seed=4)
    agent.reset(observation, info)
    timings: Timings = defaultdict(list)
    with bench_steps.writes_off(), timers(timings):
        while True:
            action = agent.act(observation, info)
            observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
    env.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    timings = run_year(args.days)
    print(f"[the tools' parts of a {args.days}-day Year, seed 4, baseline agent, writes off]")
    print(f"{'part':40} {'calls':>6} {'p50 us':>8} {'mean us':>8} {'sum ms':>8}")
    total = 0
    for key, values in sorted(timings.items(), key=lambda item: -sum(item[1])):
        spent = sum(values)
        if not key.startswith("world net_worth"):  # it holds the inventory read
            total += spent
        print(
            f"{key:40} {len(values):>6} {statistics.median(values) / 1e3:>8.1f}"
            f" {statistics.mean(values) / 1e3:>8.1f} {spent / 1e6:>8.1f}"
        )
    print(f"{'all parts (net worth apart)':40} {'':>6} {'':>8} {'':>8} {total / 1e6:>8.1f}")


if __name__ == "__main__":
    main()
