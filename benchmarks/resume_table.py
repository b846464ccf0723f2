"""Resumed vs uninterrupted, for every built-in agent, on SQLite and PostgreSQL.

Each row runs `tycoon run` to the end once, then the same run again killed with SIGKILL
at about 1/4 and 3/5 of its steps (resuming in between) and finished with
`tycoon run --db DB --resume N` alone (tests/resume_harness.py). It prints a Markdown
table: final state hash equal?, steps and score of both.

    python benchmarks/resume_table.py                       # SQLite
    python benchmarks/resume_table.py --postgres auto       # + a throwaway local server
    python benchmarks/resume_table.py --postgres auto --year   # + a full Year baseline
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from openai_server import FakeOpenAIServer
from resume_harness import (
    SCRIPTED_RUNS,
    deterministic_reply,
    run_killed_and_resumed,
    run_uninterrupted,
)

YEAR = ["--agent", "baseline", "--env", "tycoon/VendingYear-v0", "--seed", "0"]


def rows_for(backend: str, db: str, year: bool) -> Iterator[tuple[str, ...]]:
    runs = dict(SCRIPTED_RUNS)
    recorded = run_uninterrupted(db, ["--agent", "random", "--seed", "2", "--max-days", "15"])
    runs["replay"] = ["--agent", "replay", "--replay-episode", str(recorded.episode_id)]
    runs["replay"] += ["--seed", "2", "--max-days", "15"]
    if year:
        runs["baseline, Year (365 days)"] = YEAR
    with FakeOpenAIServer(deterministic_reply, record=False) as server:
        runs["openai (loopback server)"] = [
            "--agent", "openai", "--model", "fake-model", "--base-url", server.base_url,
            "--env", "tycoon/VendingYear-v0", "--max-days", "8", "--context-tokens", "3500",
        ]  # fmt: skip
        for name, run_args in runs.items():
            started = time.perf_counter()
            left_alone = run_uninterrupted(db, run_args)
            kills = [max(2, left_alone.steps // 4), max(4, left_alone.steps * 3 // 5)]
            resumed = run_killed_and_resumed(db, run_args, kills)
            yield (
                name,
                backend,
                "yes" if resumed.state_hash == left_alone.state_hash else "**no**",
                f"{left_alone.steps:,}",
                f"{resumed.steps:,}",
                f"${left_alone.score:,.2f}",
                f"${resumed.score:,.2f}",
                ", ".join(str(k) for k in resumed.killed_at),
                f"{time.perf_counter() - started:.0f}",
            )


@contextlib.contextmanager
def postgres_url(option: str) -> Iterator[str]:
    if option != "auto":
        yield option
        return
    from pg_server import running_postgres

    with running_postgres() as url:
        yield url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL|auto", help="also run on PostgreSQL")
    parser.add_argument("--year", action="store_true", help="add a full Year baseline run")
    args = parser.parse_args(argv)
    header = (
        "agent",
        "backend",
        "hash equal",
        "steps (left alone)",
        "steps (resumed)",
        "score (left alone)",
        "score (resumed)",
        "killed at step",
        "seconds",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows_for("SQLite", str(Path(tmp) / "resume.db"), args.year):
            print("| " + " | ".join(row) + " |", flush=True)
    if args.postgres:
        with postgres_url(args.postgres) as url:
            for row in rows_for("PostgreSQL", url, args.year):
                print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
