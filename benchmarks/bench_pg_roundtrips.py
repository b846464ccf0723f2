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

Where a PostgreSQL step's time goes is measured in a third, untimed-for-the-table pass
(skipped with `--no-split`): each step's wall time is cut where its pipeline starts and
where the server's answer to its Sync was read (the client's Python before the pipeline;
sending it and waiting for the answer; the client after), and, when the server runs on this
machine (its backend's `/proc/<pid>/schedstat` is readable), the server backend's own CPU
time per step and its time waiting for a CPU. On a loaded two-core machine the wait is
the server's CPU plus the wake-ups of both processes.

The split also gives the client's own CPU per step (`time.process_time_ns`, user and
system: libpq's socket writes and reads are system time), its wait for a CPU
(`/proc/self/schedstat`) and its context switches (`getrusage`), and the wall time neither
process spent on a CPU (one waiting in a run queue, or for a wake-up). Then the floor:
the measured get_balance steps' statements are replayed with libpq alone, as `driver_sql`
sends them (each prepared once, psycopg's adaptation, one pipeline and one Sync per step,
committed; the replayed step rows' ids moved past the episode's), next to a bare round
trip (a Sync alone) and a prepared `SELECT 1`. That replay is what a step's SQL costs on
PostgreSQL without tycoon, to set next to SQLite's whole step.

With `--postgres auto` the cheap steps are also timed over the throwaway server's
Unix-domain socket. That is not a TCP loopback figure (no TCP stack, the socket a
local `psql` uses by default); the table's figures are TCP on 127.0.0.1.

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
import os
import resource
import select
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
from sqlalchemy import NullPool, create_engine
from sqlalchemy.engine import make_url

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agents import AGENTS
from tycoon.envs.world import driver_sql
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


@dataclass
class Split:
    """One kind of step's wall time cut at its pipeline's send and its Sync's answer (ns
    per step), and the server backend's CPU and run-queue time (ns, summed)."""

    before: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    after: list[int] = field(default_factory=list)
    server_cpu: int = 0
    server_queue: int = 0
    steps: int = 0
    server_seen: bool = True
    wall: list[int] = field(default_factory=list)
    # this process (the client): CPU (user and system), run-queue wait, context switches
    client_cpu: int = 0
    client_queue: int = 0
    client_seen: bool = True
    voluntary_switches: int = 0
    involuntary_switches: int = 0

    def line(self, name: str) -> str:
        def p50(values: list[int]) -> float:
            ordered = sorted(values)
            return ordered[len(ordered) // 2] / 1e3 if ordered else float("nan")

        parts = [
            f"{name}: client before the pipeline {p50(self.before):.1f} us",
            f"sending it and waiting for the answer {p50(self.waiting):.1f} us",
            f"client after {p50(self.after):.1f} us (p50s)",
        ]
        if self.server_seen and self.steps:
            parts.append(
                f"server backend on CPU {self.server_cpu / self.steps / 1e3:.1f} us a step, "
                f"waiting for a CPU {self.server_queue / self.steps / 1e3:.1f} us"
            )
        else:
            parts.append("server CPU not measurable (the server is not on this machine)")
        if self.steps:
            per_step = self.steps
            parts.append(
                f"client on CPU {self.client_cpu / per_step / 1e3:.1f} us a step (user and "
                f"system), waiting for a CPU {self.client_queue / per_step / 1e3:.1f} us, "
                f"{self.voluntary_switches / per_step:.2f} voluntary and "
                f"{self.involuntary_switches / per_step:.2f} involuntary context switches"
            )
            if self.server_seen:
                # the two take turns (the client waits for the server's answer): the rest
                # of the wall time is one of them waiting for a CPU, or for a wake-up
                rest = sum(self.wall) - self.server_cpu - self.client_cpu
                parts.append(
                    f"wall {sum(self.wall) / per_step / 1e3:.1f} us a step (means), of which "
                    f"neither process on a CPU {rest / per_step / 1e3:.1f} us"
                )
        return "; ".join(parts)


class _PipelineClock:
    """Notes when a step's pipeline starts (its first message handed to libpq) and when
    the answer to its Sync was read, by wrapping two of `driver_sql`'s module functions while it is open (a
    benchmark's instrument: the library has no hook for this)."""

    def __init__(self) -> None:
        self.sent_at: int | None = None
        self.answered_at: int | None = None
        self.backend_pid: int | None = None

    def __enter__(self) -> _PipelineClock:
        self._exchange, self._read = driver_sql._exchange, driver_sql._read_until_sync
        exchange, read = self._exchange, self._read

        def timed_exchange(driver: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent_at = time.perf_counter_ns()
            self.backend_pid = driver.pgconn.backend_pid
            return exchange(driver, *args, **kwargs)

        def timed_read(*args: Any) -> Any:
            error = read(*args)
            self.answered_at = time.perf_counter_ns()
            return error

        driver_sql._exchange, driver_sql._read_until_sync = timed_exchange, timed_read
        return self

    def __exit__(self, *_exc: object) -> None:
        driver_sql._exchange, driver_sql._read_until_sync = self._exchange, self._read


def _schedstat(pid: int | None) -> tuple[int, int] | None:
    """A process's CPU time and run-queue wait (ns), None where it cannot be read."""
    try:
        on_cpu, queued, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu), int(queued)


def _split_step(env, action, clock: _PipelineClock, split: Split, record: bool) -> tuple:
    clock.sent_at = clock.answered_at = None
    before = _schedstat(clock.backend_pid)
    client_before = _schedstat(os.getpid())
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = time.process_time_ns()
    start = time.perf_counter_ns()
    result = env.step(action)
    end = time.perf_counter_ns()
    cpu_after = time.process_time_ns()
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    client_after = _schedstat(os.getpid())
    if not record or clock.sent_at is None or clock.answered_at is None:
        return result
    after = _schedstat(clock.backend_pid)
    split.wall.append(end - start)
    split.client_cpu += cpu_after - cpu_before
    if client_before is None or client_after is None:
        split.client_seen = False
    else:
        split.client_queue += client_after[1] - client_before[1]
    split.voluntary_switches += usage_after.ru_nvcsw - usage_before.ru_nvcsw
    split.involuntary_switches += usage_after.ru_nivcsw - usage_before.ru_nivcsw
    split.before.append(clock.sent_at - start)
    split.waiting.append(clock.answered_at - clock.sent_at)
    split.after.append(end - clock.answered_at)
    if before is None or after is None:
        split.server_seen = False
    else:
        split.server_cpu += after[0] - before[0]
        split.server_queue += after[1] - before[1]
    split.steps += 1
    return result


class _BatchRecorder:
    """Notes each pipeline's statements and values while `recording` (a benchmark's
    instrument: wraps `driver_sql._send_pipeline` while it is open)."""

    def __init__(self) -> None:
        self.recording = False
        self.batches: list[list[tuple[str, list[dict[str, Any]]]]] = []

    def __enter__(self) -> _BatchRecorder:
        self._send = send = driver_sql._send_pipeline

        def recorded(driver: Any, held: list, *, commit: bool) -> None:
            if self.recording:
                self.batches.append(
                    [
                        (statement.sql, [dict(row) for row in (bound if many else [bound])])
                        for statement, bound, many in held
                    ]
                )
            send(driver, held, commit=commit)

        driver_sql._send_pipeline = recorded
        return self

    def __exit__(self, *_exc: object) -> None:
        driver_sql._send_pipeline = self._send


@dataclass
class Floor:
    """A PostgreSQL step's statements replayed with raw libpq, and bare exchanges (ns)."""

    replay: list[int] = field(default_factory=list)
    replay_server_cpu: list[int] = field(default_factory=list)
    round_trip: list[int] = field(default_factory=list)
    select_one: list[int] = field(default_factory=list)

    def line(self, step_p50_us: float) -> str:
        def p50(values: list[int]) -> float:
            ordered = sorted(values)
            return ordered[len(ordered) // 2] / 1e3 if ordered else float("nan")

        return (
            f"the floor (TCP loopback, raw libpq, no tycoon): a bare round trip (a Sync alone) "
            f"{p50(self.round_trip):.1f} us, a prepared SELECT 1 {p50(self.select_one):.1f} us; "
            f"get_balance's statements replayed (prepared, one pipeline, committed) "
            f"{p50(self.replay):.1f} us, the server backend on CPU "
            f"{p50(self.replay_server_cpu):.1f} us of it (p50s); the step costs "
            f"{step_p50_us - p50(self.replay):.1f} us more than its statements' replay"
        )


# the replayed step rows' ids are moved past the episode's own (the replay commits)
FLOOR_STEP_ID_OFFSET = 10_000_000
FLOOR_EXCHANGES = 300


def raw_floor(postgres_url: str, batches: list[list[tuple[str, list[dict[str, Any]]]]]) -> Floor:
    """Replay recorded batches with libpq alone, as `driver_sql` sends them (each statement
    prepared once, the values adapted by psycopg's `Transformer`, one pipeline and one Sync
    per step, from an idle connection: one implicit transaction, committed by the Sync);
    and time a Sync alone and a prepared SELECT 1."""
    import psycopg
    from psycopg.adapt import PyFormat, Transformer

    url = make_url(postgres_url).set(drivername="postgresql")
    floor = Floor()
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        pgconn = conn.pgconn
        transformer = Transformer(conn)
        prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        numbered = {sql: driver_sql._numbered(sql) for batch in batches for sql, _ in batch}
        for batch in batches:
            steps = [(sql, [_moved_step_row(sql, row) for row in rows]) for sql, rows in batch]
            before = _schedstat(pgconn.backend_pid)
            start = time.perf_counter_ns()
            pgconn.enter_pipeline_mode()
            for sql, rows in steps:
                text, names = numbered[sql]
                for row in rows:
                    values = transformer.dump_sequence(
                        [row[name] for name in names], [PyFormat.AUTO] * len(names)
                    )
                    key = (text, transformer.types)
                    if (name := prepared.get(key)) is None:
                        name = prepared[key] = b"floor_%d" % len(prepared)
                        pgconn.send_prepare(name, text, transformer.types)
                    pgconn.send_query_prepared(name, values, transformer.formats)
            _sync_and_read(pgconn)
            floor.replay.append(time.perf_counter_ns() - start)
            after = _schedstat(pgconn.backend_pid)
            if before is not None and after is not None:
                floor.replay_server_cpu.append(after[0] - before[0])
        pgconn.send_prepare(b"floor_select_one", b"SELECT 1")
        while pgconn.get_result() is not None:
            pass
        for _ in range(FLOOR_EXCHANGES):
            start = time.perf_counter_ns()
            pgconn.enter_pipeline_mode()
            _sync_and_read(pgconn)
            floor.round_trip.append(time.perf_counter_ns() - start)
            start = time.perf_counter_ns()
            pgconn.enter_pipeline_mode()
            pgconn.send_query_prepared(b"floor_select_one", None)
            _sync_and_read(pgconn)
            floor.select_one.append(time.perf_counter_ns() - start)
    return floor


def _moved_step_row(sql: str, row: dict[str, Any]) -> dict[str, Any]:
    if sql.startswith("INSERT INTO steps "):
        return {**row, "id": row["id"] + FLOOR_STEP_ID_OFFSET}
    return row


def _sync_and_read(pgconn: Any) -> None:
    """Send a Sync, read every result up to its answer, leave pipeline mode; a statement
    the server refused is raised (a floor that failed measures nothing)."""
    from psycopg import pq

    pgconn.pipeline_sync()
    while pgconn.flush():
        select.select([], [pgconn.socket], [])
    failed = None
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            break
        if result.status == pq.ExecStatus.FATAL_ERROR and failed is None:
            failed = result.error_message.decode(errors="replace")
    pgconn.exit_pipeline_mode()
    if failed is not None:
        raise RuntimeError(f"Expected the replayed statements to succeed, got: {failed}")


def split_steps(
    postgres_url: str, steps: int, warmup: int, days: int
) -> tuple[dict[str, Split], Floor]:
    """Where the time of PostgreSQL get_balance steps and nights goes (see the module
    docstring), in a pass of its own; and the floor of get_balance (its statements
    replayed with libpq alone, while the episode still holds its lease)."""
    splits = {"get_balance": Split(), "night": Split()}
    with _PipelineClock() as clock, _BatchRecorder() as recorder:
        env, _, _ = _make(postgres_url)
        action = call("get_balance")
        for i in range(warmup + steps):
            if env.simulation.world.minute > 22 * 60:
                env.step(call("wait_for_next_day"))
            recorder.recording = i >= warmup
            _split_step(env, action, clock, splits["get_balance"], record=i >= warmup)
            recorder.recording = False
        floor = raw_floor(postgres_url, recorder.batches)
        env.close()
        env.store.dispose()
        env, observation, info = _make(postgres_url)
        agent = AGENTS["oracle"]()
        agent.reset(observation, info)
        while env.simulation.world.day < 5 + days:
            action = agent.act(observation, info)
            night = getattr(action, "name", "") == "wait_for_next_day"
            record = night and env.simulation.world.day >= 5
            observation, _, terminated, truncated, info = _split_step(
                env, action, clock, splits["night"], record
            )
            if terminated or truncated:
                break
        env.close()
        env.store.dispose()
    return splits, floor


def unix_socket_url(tcp_url: str) -> str | None:
    """The same server and database over its Unix-domain socket (None if it has none)."""
    url = make_url(tcp_url)
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        directories = conn.exec_driver_sql("SHOW unix_socket_directories").scalar() or ""
    engine.dispose()
    directory = directories.split(",")[0].strip()
    if not directory.startswith("/"):
        return None
    return (
        url.set(host=None, port=None)
        .update_query_dict({"host": directory, "port": str(url.port or 5432)})
        .render_as_string(hide_password=False)
    )


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
    parser.add_argument(
        "--no-split", dest="split", action="store_false", help="skip where the time goes"
    )
    args = parser.parse_args(argv)
    splits: dict[str, Split] = {}
    floor: Floor | None = None
    unix: Backend | None = None
    with tempfile.TemporaryDirectory(prefix="tycoon-pg-bench-") as tmp:
        with postgres_server(args.postgres) as url:
            figures = measure(
                f"sqlite:///{Path(tmp) / 'bench.db'}",
                url,
                steps=args.steps,
                days=args.days,
                warmup=args.warmup,
            )
            if args.split:
                splits, floor = split_steps(
                    url, args.steps // 2, args.warmup, max(5, args.days // 2)
                )
            if args.postgres == "auto" and (socket_url := unix_socket_url(url)) is not None:
                unix = Backend()
                cheap_steps(socket_url, unix, args.steps, args.warmup, count=False)
        print_table(figures)
        if unix is not None:
            print_unix_socket(unix, figures)
        if splits:
            print("where a PostgreSQL step's time goes (TCP loopback):")
            for name, split in splits.items():
                print("  " + split.line(name))
        if floor is not None:
            print(floor.line(figures.postgres.p50_us("get_balance")))


def print_unix_socket(unix: Backend, figures: Figures) -> None:
    parts = [
        f"{name} {unix.p50_us(name):.1f} us ({unix.p50_us(name) / figures.sqlite.p50_us(name):.2f}x"
        " SQLite)"
        for name in ("get_balance", "set_price")
    ]
    print("the same server over its Unix-domain socket (not TCP loopback): " + "; ".join(parts))


if __name__ == "__main__":
    main()
