"""Where an every-step commit's time and WAL pages go, on SQLite. Prints, asserts nothing.

One `tycoon/VendingYear-v0` episode (seed 4, the baseline agent) on a SQLite file with
durability "step" (or `--durability day|episode`), with timers around the parts of the commit
(`time.perf_counter_ns`, via `bench_tools.timed`; ~0.1 us a call, in every figure alike):

- the whole `VendingSimulation.commit` (its own Python builds the step row and info JSON);
- the lease fence (`StepWriter.fence_with_counters`: on SQLite the counters' UPDATE,
  `WorldStore.fence_step` only when the lease is due for renewal), the world's rows (`write_changes`), the step
  row and counters (`StepWriter.write`) and the driver's COMMIT (`commit_driver`);
- each statement run on the driver (`DriverStatement._execute`), by its first words:
  the first write of a transaction also carries SQLite's BEGIN and write lock.

Then the WAL the run left (the commits since the last checkpoint) is read frame by
frame, and each frame's page is named by the b-tree that owns it (SQLite's `dbstat`):
what each commit appends, per commit on average.

Last, the floor: every statement the run sent through the driver (its values as sent)
and each COMMIT is replayed with raw sqlite3 on a copy of the database as it was before
the first step, with the store's pragmas: what SQLite itself costs, commit by commit,
checkpoints included. The commits' time above it is our Python and what it does to the
CPU's caches between SQLite's calls.

    python benchmarks/bench_commit.py
    python benchmarks/bench_commit.py --days 120
    python benchmarks/bench_commit.py --durability day
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import shutil
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_steps
from bench_tools import Timings, timed

from tycoon.agents import AGENTS
from tycoon.envs.vending import simulation
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world import driver_sql
from tycoon.envs.world.store import WAL_CHECKPOINT_BYTES, WAL_SIZE_LIMIT_BYTES, WorldStore

WAL_HEADER_BYTES = 32
FRAME_HEADER_BYTES = 24


# what the run sent through the driver, commit by commit: (sql, values, executemany)
Commit = list[tuple[str, Any, bool]]


@contextlib.contextmanager
def timers(timings: Timings, commits: list[Commit]) -> Iterator[None]:
    """Timers around the commit's parts and each driver statement (put back after); each
    driver statement and COMMIT is recorded in `commits` for the replay."""
    parts: list[tuple[Any, str, str]] = [
        (simulation.VendingSimulation, "commit", "commit (all of it)"),
        (simulation.StepWriter, "fence_with_counters", "StepWriter.fence_with_counters"),
        (WorldStore, "fence_step", "fence_step"),
        (VendingWorld, "write_changes", "write_changes"),
        (simulation.StepWriter, "write", "StepWriter.write"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _key in parts]
    execute = driver_sql.DriverStatement._execute
    saved.append((driver_sql.DriverStatement, "_execute", execute))

    commits.append([])

    def statement(self: Any, connection: Any, bound: Any, many: bool) -> Any:
        words = " ".join(self.sql.split("(")[0].split(" SET ")[0].split()[:3])
        # a copy: the caller may reuse its lists and dicts
        sent = [dict(v) if isinstance(v, dict) else v for v in bound] if many else bound
        commits[-1].append((self.sql, sent, many))
        return timed(timings, f"  statement {words}", execute)(self, connection, bound, many)

    commit = simulation.commit_driver
    saved.append((simulation, "commit_driver", commit))

    def commit_and_mark(connection: Any) -> None:
        commit(connection)
        commits.append([])

    for owner, name, key in parts:
        setattr(owner, name, timed(timings, key, getattr(owner, name)))
    simulation.commit_driver = timed(timings, "commit_driver (COMMIT)", commit_and_mark)
    driver_sql.DriverStatement._execute = statement  # type: ignore[method-assign]
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def run_year(
    days: int, folder: Path, durability: str, commits: list[Commit]
) -> tuple[Timings, list[int], Path]:
    """The Year's timings, each step's env time (ns) and a copy of its database with the
    WAL as the run left it (copied before the env closes: closing checkpoints it). The
    database before the first step is left in `folder / "start.db"`, and what each
    commit sent in `commits`."""
    db = folder / "year.db"
    env = bench_steps.make_env(
        "tycoon/VendingYear-v0", f"sqlite:///{db}", durability, max_days=days
    )
    agent = AGENTS["baseline"](horizon_days=days)
    observation, info = env.reset(seed=4)
    agent.reset(observation, info)
    with (
        contextlib.closing(sqlite3.connect(db)) as source,
        contextlib.closing(sqlite3.connect(folder / "start.db")) as start,
    ):
        source.backup(start)
    timings: Timings = defaultdict(list)
    steps: list[int] = []
    clock = time.perf_counter_ns
    # the garbage of imports and the reset is not the Year's: left in, a full collection
    # (40-110 ms) lands in some timed statement (as bench_steps does)
    gc.collect()
    with timers(timings, commits):
        while True:
            action = agent.act(observation, info)
            started = clock()
            observation, _, terminated, truncated, info = env.step(action)
            steps.append(clock() - started)
            if terminated or truncated:
                break
    copy = folder / "copy.db"
    shutil.copyfile(db, copy)
    shutil.copyfile(f"{db}-wal", f"{copy}-wal")
    env.close()
    return timings, steps, copy


def replay(start: Path, commits: list[Commit]) -> list[int]:
    """Each commit's statements and its COMMIT run again with raw sqlite3 on `start` (the
    database before the first step), with the store's pragmas: each commit's time (ns)."""
    with contextlib.closing(sqlite3.connect(start, isolation_level=None)) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"wal_autocheckpoint={max(1, WAL_CHECKPOINT_BYTES // page_size)}",
            f"journal_size_limit={WAL_SIZE_LIMIT_BYTES}",
        ):
            connection.execute(f"PRAGMA {pragma}")
        cursor = connection.cursor()
        times: list[int] = []
        clock = time.perf_counter_ns
        for statements in commits:
            if not statements:
                continue
            started = clock()
            bench_steps.replay_transaction(cursor, statements)
            times.append(clock() - started)
    return times


def commits_in_wal(wal: bytes) -> list[list[int]]:
    """The page numbers of each commit's frames in a WAL file (its valid frames)."""
    page_size = struct.unpack(">I", wal[8:12])[0]
    salts = wal[16:24]
    commits: list[list[int]] = []
    pages: list[int] = []
    offset = WAL_HEADER_BYTES
    while offset + FRAME_HEADER_BYTES + page_size <= len(wal):
        page, size_after_commit = struct.unpack(">II", wal[offset : offset + 8])
        if wal[offset + 8 : offset + 16] != salts:  # a frame of an earlier WAL generation
            break
        pages.append(page)
        if size_after_commit:  # the commit's last frame
            commits.append(pages)
            pages = []
        offset += FRAME_HEADER_BYTES + page_size
    return commits


def pages_by_btree(copy: Path, commits: list[list[int]]) -> Counter[str]:
    with contextlib.closing(sqlite3.connect(copy)) as connection:
        owners = {
            page: f"{name} ({kind})"
            for name, page, kind in connection.execute("SELECT name, pageno, pagetype FROM dbstat")
        }
    owners[1] = "page 1 (the header: the file grew)"
    return Counter(owners.get(page, "?") for pages in commits for page in pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--durability", choices=("step", "day", "episode"), default="step")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_commit_"))
    sent: list[Commit] = []
    try:
        timings, steps, copy = run_year(args.days, folder, args.durability, sent)
        wal = Path(f"{copy}-wal").read_bytes()
        commits = commits_in_wal(wal)
        pages = pages_by_btree(copy, commits)
        floor = replay(folder / "start.db", sent)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"[durability {args.durability!r}: the commits of a {args.days}-day Year, seed 4, "
        "baseline agent, SQLite file]"
    )
    print(
        f"{len(steps)} steps, env time {sum(steps) / 1e9:.2f} s, "
        f"step p50 {statistics.median(steps) / 1e3:.1f} us"
    )
    print(f"{'part':44} {'calls':>6} {'p50 us':>8} {'mean us':>8} {'sum ms':>8}")
    for key, values in sorted(timings.items(), key=lambda item: -sum(item[1])):
        print(
            f"{key:44} {len(values):>6} {statistics.median(values) / 1e3:>8.1f}"
            f" {statistics.mean(values) / 1e3:>8.1f} {sum(values) / 1e6:>8.1f}"
        )
    written = sum(timings.get("commit_driver (COMMIT)", [])) + sum(
        sum(values) for key, values in timings.items() if key.startswith("  statement")
    )
    print(
        f"\n[the floor: the same statements and COMMITs replayed with raw sqlite3]\n"
        f"{len(floor)} commits: replayed {sum(floor) / 1e6:.1f} ms in all, p50 "
        f"{statistics.median(floor) / 1e3:.1f} us, mean {statistics.mean(floor) / 1e3:.1f} us; "
        f"the run's own statements and COMMITs took {written / 1e6:.1f} ms"
    )
    if not commits:
        print("\nthe WAL held no commit (a checkpoint had just reset it)")
        return
    print(
        f"\n[WAL frames per commit, by the b-tree of their page: the last {len(commits)} commits]"
    )
    print(f"all frames {sum(map(len, commits)) / len(commits):.2f}")
    for owner, count in pages.most_common():
        if count / len(commits) >= 0.01:
            print(f"  {owner:58} {count / len(commits):.2f}")


if __name__ == "__main__":
    main()
