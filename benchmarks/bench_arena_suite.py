"""The arena suite's cost: wall time per market, steps/s, and the leaderboard's cost.

    python benchmarks/bench_arena_suite.py [--agents baseline,idle,oracle] [--seeds 0,1]
        [--days 120]

Runs `tycoon eval arena` in-process on a fresh SQLite file (every pair of entrants in
both seat orders on every seed), then builds the arena board (scores from the database,
the Bradley-Terry fit and its bootstrap) and the HTML site. Prints seconds per market,
market steps per second and the seconds each reading took.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from tycoon.cli import main
from tycoon.envs.arena.schema import ArenaMarket
from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.arena import arena_boards


def run(agents: list[str], seeds: str, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "arena.db"
        flags = [a for agent in agents for a in ("--agent", agent)]
        started = time.perf_counter()
        code = main(["eval", "arena", *flags, "--seeds", seeds, "--max-days", str(days),
                     "--db", str(db), "--no-progress"])  # fmt: skip
        played = time.perf_counter() - started
        assert code == 0, code
        store = WorldStore(db)
        with store.session() as session:
            markets = session.scalar(select(func.count()).select_from(ArenaMarket))
            steps = session.scalar(select(func.sum(ArenaMarket.step_count)))
        started = time.perf_counter()
        (board,) = arena_boards(store)
        scored = time.perf_counter() - started
        store.dispose()
        started = time.perf_counter()
        main(["leaderboard", "--db", str(db), "--html", str(Path(tmp) / "site"),
              "--no-progress", "--format", "csv"])  # fmt: skip
        site = time.perf_counter() - started
    print(f"entrants {', '.join(agents)}; seeds {seeds}; {days} days; {markets} markets")
    print(f"  eval: {played:.1f} s, {played / markets:.2f} s per market, "
          f"{steps / played:,.0f} market steps/s ({steps} steps)")  # fmt: skip
    print(f"  board (scores, Bradley-Terry and its bootstrap): {scored:.2f} s")
    print(f"  leaderboard --html (incl. every operator's episode page): {site:.1f} s")
    print(
        "  "
        + " | ".join(f"{r.label} {r.rating.estimate:,.0f} {r.record.text()}" for r in board.rows)
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="baseline,idle,oracle")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--days", type=int, default=120)
    options = parser.parse_args()
    run(options.agents.split(","), options.seeds, options.days)
