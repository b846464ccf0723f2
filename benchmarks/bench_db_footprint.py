"""What one step costs PostgreSQL: transactions, rows and bytes, for the scale arithmetic.

Runs, each into a fresh throwaway local PostgreSQL database (or `--postgres URL`):
- `--llm-steps` steps of LLM-agent episodes (VendingYear-v0) against the loopback
  server (replies call `get_balance`, with a short reasoning text), and
- one baseline episode of `--days` days (VendingYear-v0),
and prints per step: committed transactions (pg_stat_database), rows inserted or updated
(pg_stat_user_tables), and database bytes (pg_database_size growth, after VACUUM).

    python benchmarks/bench_db_footprint.py [--llm-steps 400] [--days 365]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def counters(url: str) -> dict[str, int]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        commits = conn.execute(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
        rows = conn.execute(
            text("SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables")
        ).scalar_one()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return {"commits": int(commits), "rows": int(rows), "bytes": int(size)}


def llm_steps(url: str, steps: int, episodes: int) -> int:
    from openai_server import FakeOpenAIServer, Reply

    from tycoon.cli import build_parser
    from tycoon.commands.rollout import run_share
    from tycoon.rollout import Job, ProgressBar

    reasoning = "Checking the balance before deciding what to restock today. " * 3
    with FakeOpenAIServer(lambda b: Reply.tool_call("get_balance", content=reasoning)) as server:
        args = build_parser().parse_args(
            [
                *("rollout", "--env", "tycoon/VendingYear-v0", "--agent", "openai"),
                *("--model", "m", "--base-url", server.base_url, "--db", url),
                *("--max-steps", str(steps // episodes), "--no-progress"),
            ]
        )
        jobs = [Job(seed=s) for s in range(episodes)]
        results = asyncio.run(run_share(args, jobs, episodes, ProgressBar(0, enabled=False)))
    return sum(r.steps for r in results)


def baseline_steps(url: str, days: int) -> int:
    from tycoon.cli import build_parser
    from tycoon.commands.rollout import run_share
    from tycoon.rollout import Job, ProgressBar

    args = build_parser().parse_args(
        [
            *("rollout", "--env", "tycoon/VendingYear-v0", "--agent", "baseline"),
            *("--db", url, "--max-days", str(days), "--no-progress"),
        ]
    )
    results = asyncio.run(run_share(args, [Job(seed=0)], 1, ProgressBar(0, enabled=False)))
    return results[0].steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default="auto")
    parser.add_argument("--llm-steps", type=int, default=400)
    parser.add_argument("--days", type=int, default=365)
    options = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = options.postgres
        if url == "auto":
            from pg_server import running_postgres

            url = stack.enter_context(running_postgres())
        from tycoon.envs.world.store import WorldStore

        WorldStore(url).dispose()  # the tables exist before the first count
        print(f"{'run':<34} {'steps':>6} {'commits/step':>12} {'rows/step':>9} {'bytes/step':>10}")
        for name, run in (
            ("LLM agent, Year, 4 episodes", lambda: llm_steps(url, options.llm_steps, 4)),
            (f"baseline, Year, {options.days} days", lambda: baseline_steps(url, options.days)),
        ):
            before = counters(url)
            steps = run()
            after = counters(url)
            per = {k: (after[k] - before[k]) / steps for k in before}
            print(
                f"{name:<34} {steps:>6} {per['commits']:>12.2f} {per['rows']:>9.1f} "
                f"{per['bytes']:>10,.0f}"
            )


if __name__ == "__main__":
    main()
