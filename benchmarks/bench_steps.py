"""Step cost of the vending env next to its SQL floor, in one process. Prints, asserts nothing.

What is measured (wall time around `env.step`, `time.perf_counter_ns`, after warm-up):

- `get_balance` step and `set_price` step (Classic, SQLite): each step's SQL is recorded
  (every statement the driver ran, with its parameters) and replayed afterwards with raw
  `sqlite3` on a copy of the database taken before the first measured step: BEGIN, the
  same statements (SELECT results fetched), COMMIT. That replay is the floor: what the
  step would cost if tycoon did nothing but its SQL. Steps that crossed midnight are left
  out.
- night: `wait_for_next_day` in a Classic episode that a tiny scripted operator keeps
  stocked (orders by email, pays invoices, restocks every morning; all untimed); only
  nights with goods in the machine count. Replayed the same way. Inside these steps the
  world's night itself (`run_overnight`: sales, mail, deliveries, fees) is timed too.
- Year: a whole scripted 365-day `tycoon/VendingYear-v0` episode with the baseline agent
  (agent time left out), once per durability setting (`step`: commit every step, the
  default; `day`; `episode`), once on in-memory SQLite, and once with writes off: the
  same simulation on in-memory SQLite with the world's writes, the step row, the
  counters and the lease fence patched out (the state lives only in memory; no hash).
  Each row splits its env time into the steps that ran a night and the others, and
  gives the reset's own time and the Year's steps without their slowest 1% (body vs
  tail; the reset is timed, not warmed: a first reset in the process pays imports and
  compiles that a second would not). A second table gives each Year's steps one by one
  (p50, mean, p99, max: how much of the time is a tail; the slowest 1% of steps and the
  CPU time the process spent in them, `time.thread_time_ns`: on a shared machine most of
  a wall-clock tail is time the process was not running) and, on a SQLite file, the
  steps in which SQLite checkpointed its WAL into the file and the env time they took.
  Before each Year the process's garbage is collected (untimed), as timeit and pyperf
  settle it, so that the one full collection of the ~100k objects that imports and the
  reset leave behind (90-140 ms here) does not land on a step of whichever Year runs first; the collections that still run inside a
  Year are counted and timed, and stay in its figures.
- detectors: `get_balance` in a `tycoon/VendingProbes-v0` episode with its rule
  detectors, and in the same episode with the detectors (the behaviour recorder) off.
- PostgreSQL (`--postgres auto` starts a throwaway server as the tests do): the same
  steps, their ratio to SQLite, and the round trips per step (the server's ReadyForQuery
  messages in the libpq trace: each ends one wait for the server). The round trips are
  counted in a pass of their own after the timed steps (`TRIP_COUNTED_STEPS` cheap steps,
  `TRIP_COUNTED_NIGHTS` nights), untimed: libpq's trace formats every message the step
  exchanges and cost about 70 us of a get_balance step's 230 when it ran in the timed
  steps.

    python benchmarks/bench_steps.py                      # SQLite only
    python benchmarks/bench_steps.py --postgres auto      # + a throwaway local server
    python benchmarks/bench_steps.py --postgres postgresql+psycopg://u@host/db
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import sqlite3
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
from sqlalchemy import event

import tycoon  # registers the ids
from tycoon.envs.world.round_trips import RoundTripCounter

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported
from bench_pg_roundtrips import postgres_server

# Goals from issue 8: compared against, never asserted.
GOAL_TOOL_RATIO = 2.0
GOAL_NIGHT_RATIO = 2.0
GOAL_GET_BALANCE_P50_US = 80
GOAL_YEAR_S = 0.6
GOAL_YEAR_DAILY_S = 0.15
GOAL_PG_RATIO = 1.5

# the untimed pass after the timed PostgreSQL steps that counts their round trips
TRIP_COUNTED_STEPS = 40
TRIP_COUNTED_NIGHTS = 3


def call(name: str, **arguments: object) -> str:
    return json.dumps({"name": name, "arguments": arguments})


@dataclass
class Samples:
    label: str
    ns: list[int] = field(default_factory=list)

    def p50_us(self) -> float:
        ordered = sorted(self.ns)
        return ordered[len(ordered) // 2] / 1e3 if ordered else float("nan")

    def mean_us(self) -> float:
        return sum(self.ns) / len(self.ns) / 1e3 if self.ns else float("nan")


def make_env(env_id: str, db: str, durability: str | None = None, **config: object):
    kwargs: dict[str, Any] = {"db": db, "config": config or None}
    if durability is not None:
        kwargs["durability"] = durability
    # unwrapped: no TimeLimit or checker wrappers, the env itself is measured
    return gymnasium.make(env_id, **kwargs).unwrapped


def world_of(env):
    return env.simulation.world


# -- recording the SQL of each step -------------------------------------------------------


class SqlRecorder:
    """Records every statement the engine's driver runs, grouped by step."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.steps: list[tuple[str, list[tuple[str, Any, bool]]]] = []
        self._current: list[tuple[str, Any, bool]] | None = None
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        if self._current is not None:
            self._current.append((statement, parameters, executemany))

    def begin(self, label: str) -> None:
        self._current = []
        self.steps.append((label, self._current))

    def end(self) -> None:
        self._current = None

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()


def replay(copy: Path, steps: list[tuple[str, list[tuple[str, Any, bool]]]]) -> dict[str, Samples]:
    """Each step's statements with raw sqlite3: BEGIN, the statements, COMMIT."""
    connection = sqlite3.connect(copy, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    cursor = connection.cursor()
    timings: dict[str, Samples] = {}
    for label, statements in steps:
        start = time.perf_counter_ns()
        replay_transaction(cursor, statements)
        elapsed = time.perf_counter_ns() - start
        timings.setdefault(label, Samples(label)).ns.append(elapsed)
    connection.close()
    return timings


def replay_transaction(cursor: Any, statements: Any) -> None:
    """One step's (or commit's) statements, (sql, parameters, many), in one raw sqlite3
    transaction, reading what a query returns as the step did."""
    cursor.execute("BEGIN")
    for sql, parameters, many in statements:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
            if cursor.description is not None:
                cursor.fetchall()
    cursor.execute("COMMIT")


# -- round trips on PostgreSQL ------------------------------------------------------------


# -- scenarios ------------------------------------------------------------------------------


@dataclass
class StepFigures:
    get_balance: Samples
    set_price: Samples
    night: Samples
    floor: dict[str, Samples] = field(default_factory=dict)
    round_trips: dict[str, float] = field(default_factory=dict)
    # inside the measured night steps: the world's night itself (`run_overnight`)
    night_itself: Samples | None = None


def timed(env, action: str) -> tuple[int, tuple]:
    start = time.perf_counter_ns()
    result = env.step(action)
    return time.perf_counter_ns() - start, result


def cheap_steps(env, n: int, warmup: int, recorder: SqlRecorder | None, trips) -> dict:
    world = world_of(env)
    sku = next(iter(world.products))
    actions = {
        "get_balance": call("get_balance"),
        "set_price": call("set_price", sku=sku, price=1.75),
    }
    samples = {name: Samples(name) for name in actions}
    trip_counts: dict[str, list[int]] = {name: [] for name in actions}
    for i in range(warmup + n):
        name = "get_balance" if i % 2 == 0 else "set_price"
        if world_of(env).minute > 22 * 60:  # keep the measured steps short of midnight
            if recorder is not None:
                recorder.begin("untimed")
            env.step(call("wait_for_next_day"))
        measured = i >= warmup
        if measured and recorder is not None:
            recorder.begin(name)
        if measured and trips is not None:
            trips.take()  # what came before this step is not its
        elapsed, _ = timed(env, actions[name])
        if measured and trips is not None:
            trip_counts[name].append(trips.take())
        if recorder is not None:
            recorder.end()
        if measured:
            samples[name].ns.append(elapsed)
    return {"samples": samples, "trips": trip_counts}


_INVOICE = re.compile(r"pay \$([\d,.]+) with send_payment to account (\S+), memo (INV-\d+)")


class StockedMachine:
    """A Classic episode kept stocked by a tiny scripted operator (its steps untimed)."""

    def __init__(self, env) -> None:
        self.env = env
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
        return world_of(self.env)

    def reorder(self) -> None:
        for address, lines in self.orders:
            self.step(call("send_email", to=address, subject="Order", body=f"ORDER: {lines}"))
        self.pending_since = self.world.day

    def morning(self) -> None:
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


class CallTimer:
    """Times the calls of a module-level function while in use (a measurement device):
    `last_ns` is the last call's wall time."""

    def __init__(self, module: Any, name: str) -> None:
        self.module, self.name = module, name
        self.original = getattr(module, name)
        self.last_ns = 0

    def __enter__(self) -> CallTimer:
        original = self.original

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return original(*args, **kwargs)
            finally:
                self.last_ns = time.perf_counter_ns() - start

        setattr(self.module, self.name, timed_call)
        return self

    def __exit__(self, *_exc: object) -> None:
        setattr(self.module, self.name, self.original)


def nights(env, days: int, warmup: int, recorder: SqlRecorder | None, trips) -> dict:
    from tycoon.envs.vending import simulation

    with CallTimer(simulation, "run_overnight") as night_itself:
        return _nights(env, days, warmup, recorder, trips, night_itself)


def _nights(
    env, days: int, warmup: int, recorder: SqlRecorder | None, trips, night_itself: CallTimer
) -> dict:
    machine = StockedMachine(env)
    samples = Samples("night")
    itself = Samples("night itself")
    trip_counts: list[int] = []
    for i in range(warmup + days):
        if recorder is not None:
            recorder.begin("untimed")
        machine.morning()
        stocked = machine.units_in_machine()
        measured = i >= warmup and stocked > 0
        if recorder is not None:
            recorder.begin("night" if measured else "untimed")
        if measured and trips is not None:
            trips.take()  # what came before this night is not its
        elapsed, _ = timed(env, call("wait_for_next_day"))
        if measured and trips is not None:
            trip_counts.append(trips.take())
        if recorder is not None:
            recorder.end()
        if measured:
            samples.ns.append(elapsed)
            itself.ns.append(night_itself.last_ns)
    return {"samples": samples, "trips": trip_counts, "itself": itself}


def step_figures(db: str, args: argparse.Namespace, workdir: Path, postgres: bool) -> StepFigures:
    figures: dict[str, Samples] = {}
    floors: dict[str, Samples] = {}
    trips_per_step: dict[str, float] = {}
    for scenario in ("cheap", "night"):
        env = make_env("tycoon/VendingClassic-v0", db, max_steps=None, max_days=args.days + 400)
        env.reset(seed=1 if scenario == "cheap" else 3)
        recorder = copy = None
        if not postgres:
            source = sqlite_file(db)
            copy = workdir / f"{source.stem}-{scenario}-copy.db"
        if scenario == "cheap":
            # warm up first, then copy the database and record from there on
            cheap_steps(env, 0, args.warmup, None, None)
            if copy is not None:
                copy_sqlite(sqlite_file(db), copy)
                recorder = SqlRecorder(env.store.engine)
            result = cheap_steps(env, args.steps, 0, recorder, None)
        else:
            if copy is not None:
                copy_sqlite(sqlite_file(db), copy)
                recorder = SqlRecorder(env.store.engine)
            result = nights(env, args.days, 5, recorder, None)
        samples = result["samples"]
        samples = samples if isinstance(samples, dict) else {"night": samples}
        if "itself" in result:
            figures["night itself"] = result["itself"]
        figures.update(samples)
        if postgres:
            trips_per_step.update(count_round_trips(env, scenario))
        if recorder is not None and copy is not None:
            recorder.close()
            floors.update(replay(copy, recorder.steps))
        env.close()
        env.store.dispose()
    return StepFigures(
        get_balance=figures["get_balance"],
        set_price=figures["set_price"],
        night=figures["night"],
        night_itself=figures.get("night itself"),
        floor=floors,
        round_trips=trips_per_step,
    )


def count_round_trips(env, scenario: str) -> dict[str, float]:
    """Round trips per step of more steps of the scenario, in a pass of their own after
    the timed ones (untimed: the trace that counts them costs the client time)."""
    trips = RoundTripCounter(env.store.engine)
    try:
        if scenario == "cheap":
            counts = cheap_steps(env, TRIP_COUNTED_STEPS, 0, None, trips)["trips"]
        else:
            counts = {"night": nights(env, TRIP_COUNTED_NIGHTS, 0, None, trips)["trips"]}
    finally:
        trips.close()
    return {name: sum(values) / max(1, len(values)) for name, values in counts.items()}


@dataclass
class YearFigures:
    label: str
    env_s: float
    steps: int
    days: int
    state_hash: str
    # of env_s: the steps that ran a night (their tool, the night, the commit), and how many
    night_s: float = 0.0
    nights: int = 0
    # each step's env time, and the CPU time this thread spent in it
    step_ns: list[int] = field(default_factory=list)
    step_cpu_ns: list[int] = field(default_factory=list)
    # the steps during which SQLite checkpointed its WAL into the file (None: not a file)
    checkpoint_ns: list[int] | None = None
    # the pages each commit since the WAL's last checkpoint wrote (None: not a file)
    commit_pages: list[int] | None = None
    # the garbage collections that ran inside the Year's steps, by generation
    collections: dict[int, int] = field(default_factory=dict)
    collection_ns: dict[int, int] = field(default_factory=dict)
    # the reset's own time (part of env_s)
    reset_ns: int = 0

    def body_s(self) -> float:
        """The steps' time without the slowest 1% of them (the tail) and without the reset."""
        ordered = sorted(self.step_ns)
        return sum(ordered[: len(ordered) - len(ordered) // 100]) / 1e9


class CollectionWatch:
    """Counts and times the garbage collector's runs (`gc.callbacks`) while it is entered."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.elapsed_ns: dict[int, int] = {}
        self._started = 0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
            return
        generation = info["generation"]
        self.counts[generation] = self.counts.get(generation, 0) + 1
        elapsed = time.perf_counter_ns() - self._started
        self.elapsed_ns[generation] = self.elapsed_ns.get(generation, 0) + elapsed

    def __enter__(self) -> CollectionWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)


def scripted_year(
    db: str, days: int, label: str, durability: str | None = None, off: bool = False
) -> YearFigures | None:
    """One scripted Year; `off`: the steps run with writes off (the reset writes)."""
    from tycoon.agents import AGENTS

    if "baseline" not in AGENTS:
        return None
    env = make_env("tycoon/VendingYear-v0", db, durability, max_days=days)
    agent_class = AGENTS["baseline"]
    try:
        agent = agent_class(horizon_days=days)
    except TypeError:
        agent = agent_class()
    start = time.perf_counter_ns()
    observation, info = env.reset(seed=4)
    env_ns = reset_ns = time.perf_counter_ns() - start
    agent.reset(observation, info)
    steps = nights = night_ns = 0
    step_ns: list[int] = []
    step_cpu_ns: list[int] = []
    checkpoints = CheckpointWatch(db)
    gc.collect()  # the garbage of imports, earlier runs and the reset: not this Year's
    with writes_off() if off else contextlib.nullcontext(), CollectionWatch() as collections:
        while True:
            action = agent.act(observation, info)
            cpu_start = time.thread_time_ns()
            elapsed, (observation, _, terminated, truncated, info) = timed(env, action)
            step_cpu_ns.append(time.thread_time_ns() - cpu_start)
            env_ns += elapsed
            step_ns.append(elapsed)
            checkpoints.after_step(elapsed)
            steps += 1
            if "night" in info:
                nights += 1
                night_ns += elapsed
            if terminated or truncated:
                break
    episode_id = env.episode_id
    commit_pages = wal_commit_pages(checkpoints.path)
    start = time.perf_counter_ns()
    env.close()  # an episode-end durability commits here
    env_ns += time.perf_counter_ns() - start
    figures = YearFigures(
        label, env_ns / 1e9, steps, info["day"] - 1, "", night_ns / 1e9, nights, step_ns
    )
    figures.reset_ns = reset_ns
    figures.step_cpu_ns = step_cpu_ns
    figures.checkpoint_ns = checkpoints.step_ns
    figures.commit_pages = commit_pages
    figures.collections = collections.counts
    figures.collection_ns = collections.elapsed_ns
    figures.state_hash = env.store.state_hash(episode_id)[:12]
    env.store.dispose()
    return figures


class CheckpointWatch:
    """Which steps checkpointed a SQLite file's WAL: in WAL mode only a checkpoint writes
    to the database file itself, so its modification time moves then and only then
    (looked at between steps, outside their timing)."""

    def __init__(self, db: str) -> None:
        path = sqlite_file(db) if db.startswith("sqlite:///") and "mode=memory" not in db else None
        self.path = path if path is not None and path.exists() else None
        self.step_ns: list[int] | None = None if self.path is None else []
        self._mtime = self._modified()

    def _modified(self) -> int | None:
        return None if self.path is None else self.path.stat().st_mtime_ns

    def after_step(self, elapsed_ns: int) -> None:
        if self.step_ns is None:
            return
        mtime = self._modified()
        if mtime != self._mtime:
            self._mtime = mtime
            self.step_ns.append(elapsed_ns)


def wal_commit_pages(db: Path | None) -> list[int] | None:
    """How many pages each transaction in a SQLite file's WAL wrote, since the WAL last
    started over (SQLite's WAL format: a 32-byte header, then frames of a 24-byte header
    and a page; a frame whose commit field is non-zero ends a transaction; frames left
    from before the last restart carry other salts)."""
    wal = Path(f"{db}-wal") if db is not None else None
    if wal is None or not wal.exists() or wal.stat().st_size < 32:
        return None
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    counts: list[int] = []
    pages = 0
    offset = 32
    while offset + 24 + page_size <= len(data) and data[offset + 8 : offset + 16] == salts:
        pages += 1
        if struct.unpack(">I", data[offset + 4 : offset + 8])[0]:  # a commit frame
            counts.append(pages)
            pages = 0
        offset += 24 + page_size
    return counts


@contextlib.contextmanager
def writes_off() -> Iterator[None]:
    """The simulation without its SQL writes (a measurement device, not a mode of tycoon)."""
    from collections import defaultdict

    from tycoon.envs.vending import simulation, world
    from tycoon.envs.world import store

    def forget(self, _connection) -> None:
        self.new_rows, self.changed_rows = defaultdict(list), set()
        self.deleted_rows, self._staged = [], defaultdict(list)

    patched = [
        (world.VendingWorld, "write_changes", forget),
        (simulation.StepWriter, "write", lambda self, *_: None),
        (simulation.StepWriter, "fence_with_counters", lambda self, *_: False),
        (simulation.StagedSteps, "stage", lambda self, *_: None),  # durability "day"/"episode"
        (store.WorldStore, "fence_step", lambda self, *_: None),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    for owner, name, replacement in patched:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def durability_supported() -> bool:
    import inspect

    from tycoon.envs.vending.env import VendingEnv

    return "durability" in inspect.signature(VendingEnv.__init__).parameters


def year_figures(make_db: Callable[[str], str], days: int) -> list[YearFigures]:
    rows = []
    settings = ["step", "day", "episode"] if durability_supported() else [None]
    for setting in settings:
        label = f"commit every {setting}" if setting else "commit every step"
        result = scripted_year(make_db(f"year-{setting}"), days, label, setting)
        if result is not None:
            rows.append(result)
    memory = scripted_year(
        f"sqlite:///file:year-mem-{os.getpid()}?mode=memory&cache=shared&uri=true",
        days,
        "in-memory SQLite" + (", commit at the end" if durability_supported() else ""),
        "episode" if durability_supported() else None,
    )
    if memory is not None:
        rows.append(memory)
    off = scripted_year(
        f"sqlite:///file:year-off-{os.getpid()}?mode=memory&cache=shared&uri=true",
        days,
        "in memory, writes off",
        "episode" if durability_supported() else None,
        off=True,
    )
    if off is not None:
        off.state_hash = "-"
        rows.append(off)
    return rows


def detector_figures(db: str, steps: int, warmup: int) -> tuple[Samples, Samples]:
    """get_balance in a Probes episode with its rule detectors, then with them off."""
    env = make_env("tycoon/VendingProbes-v0", db)
    env.reset(seed=0)
    action = call("get_balance")
    figures = []
    for label in ("with detectors", "detectors off"):
        if label == "detectors off":
            env.simulation.recorder = None
        samples = Samples(label)
        for i in range(warmup + steps):
            if world_of(env).minute > 22 * 60:
                env.step(call("wait_for_next_day"))
            elapsed, _ = timed(env, action)
            if i >= warmup:
                samples.ns.append(elapsed)
        figures.append(samples)
    env.close()
    env.store.dispose()
    return figures[0], figures[1]


# -- report ---------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b and b == b else "-"


def print_steps(backend: str, figures: StepFigures, sqlite: StepFigures | None) -> None:
    print(f"\n[{backend}]")
    header = f"{'step':14} {'n':>6} {'p50 us':>9} {'mean us':>9}"
    if figures.floor:
        header += f" {'floor p50':>10} {'vs floor':>9} {'goal':>6}"
    if sqlite is not None:
        header += f" {'vs SQLite':>10} {'goal':>6}"
    if figures.round_trips:
        header += f" {'round trips':>12}"
    print(header)
    for name, samples, goal in (
        ("get_balance", figures.get_balance, GOAL_TOOL_RATIO),
        ("set_price", figures.set_price, GOAL_TOOL_RATIO),
        ("night", figures.night, GOAL_NIGHT_RATIO),
    ):
        line = f"{name:14} {len(samples.ns):>6} {samples.p50_us():>9.1f} {samples.mean_us():>9.1f}"
        floor = figures.floor.get(name)
        if floor is not None:
            line += (
                f" {floor.p50_us():>10.1f} {ratio(samples.p50_us(), floor.p50_us()):>9} {goal:>5g}x"
            )
        if sqlite is not None:
            other = getattr(sqlite, name)
            line += f" {ratio(samples.p50_us(), other.p50_us()):>10} {GOAL_PG_RATIO:>5g}x"
        if figures.round_trips:
            line += f" {figures.round_trips.get(name, float('nan')):>12.1f}"
        print(line)
    itself = figures.night_itself
    if itself is not None and itself.ns:
        share = itself.p50_us() / figures.night.p50_us()
        print(
            f"of the night step: the world's night itself (run_overnight, in memory) p50 "
            f"{itself.p50_us():.1f} us ({share:.0%}); the rest is the tool call, reward, "
            "step row and commit"
        )


def print_years(rows: list[YearFigures], days: int) -> None:
    if not rows:
        print("\nscripted year: skipped (no 'baseline' agent)")
        return
    print(f"\n[scripted {days}-day Year, baseline agent, env time only, SQLite]")
    print(
        f"{'durability':38} {'env s':>7} {'nights':>7} {'others':>7} {'steps':>6} {'days':>5}"
        f" {'hash':>13} {'goal':>8} {'reset s':>8} {'no tail':>8}"
    )
    memory = [row for row in rows if row.label.startswith("in-memory")]
    reference = memory[0].env_s if memory and len(rows) > 1 else None
    for row in rows:
        goal = {"commit every step": GOAL_YEAR_S, "commit every day": GOAL_YEAR_DAILY_S}.get(
            row.label
        )
        line = (
            f"{row.label:38} {row.env_s:>7.2f} {row.night_s:>7.2f} {row.env_s - row.night_s:>7.2f}"
            f" {row.steps:>6} {row.days:>5} {row.state_hash:>13}"
            f" {f'<= {goal:g} s' if goal else '':>8}"
            f" {row.reset_ns / 1e9:>8.3f} {row.body_s():>8.2f}"
        )
        if reference and not row.label.startswith("in-memory"):
            line += f"  ({ratio(row.env_s, reference)} the in-memory run)"
        print(line)
    off = [row for row in rows if row.label.endswith("writes off")]
    if off and rows[0].label == "commit every step":
        print(f"commit every step vs writes off: {ratio(rows[0].env_s, off[0].env_s)}")
    print(
        "nights: env time of the steps that ran a night (the tool, the night, the commit; "
        f"{rows[0].nights} of {rows[0].steps} steps); others: every other step"
    )
    print(
        "reset s: the reset's own time (in env s); no tail: the steps alone (no reset, no "
        "close) without the Year's slowest 1% of them: env s minus this is reset, tail and close"
    )
    print_year_steps(rows)


def print_year_steps(rows: list[YearFigures]) -> None:
    """Each Year's steps one by one: the typical step (p50) against the mean and the
    slowest (the tail), and the steps in which SQLite checkpointed its WAL."""
    print("\n[the same Years, step by step: p50 vs mean is the tail; checkpoints: SQLite file]")
    print(
        f"{'durability':38} {'p50 us':>7} {'mean us':>8} {'p99 us':>8} {'max ms':>7}"
        f" {'slowest 1%':>10} {'its cpu':>8} {'checkpoints':>12} {'their s':>8}"
    )
    for row in rows:
        if not row.step_ns:
            continue
        ordered = sorted(row.step_ns)
        line = (
            f"{row.label:38} {ordered[len(ordered) // 2] / 1e3:>7.1f}"
            f" {sum(ordered) / len(ordered) / 1e3:>8.1f}"
            f" {ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)] / 1e3:>8.1f}"
            f" {ordered[-1] / 1e6:>7.2f}"
        )
        slowest = sorted(range(len(row.step_ns)), key=row.step_ns.__getitem__)[
            len(row.step_ns) - len(row.step_ns) // 100 :
        ]
        line += f" {sum(row.step_ns[i] for i in slowest) / 1e9:>8.3f} s"
        line += f" {sum(row.step_cpu_ns[i] for i in slowest) / 1e9:>6.3f} s"
        if row.checkpoint_ns is not None:
            line += f" {len(row.checkpoint_ns):>12} {sum(row.checkpoint_ns) / 1e9:>8.3f}"
        print(line)
    print(
        "slowest 1%: the env time of the Year's slowest 1% of steps; its cpu: the CPU time "
        "this process spent in those steps (the rest it waited: the machine's other work, "
        "the disk)"
    )
    for row in rows:
        if row.collections:
            runs = ", ".join(
                f"generation {generation}: {count} ({row.collection_ns[generation] / 1e6:.1f} ms)"
                for generation, count in sorted(row.collections.items())
            )
            print(f"{row.label}: garbage collections inside the Year's steps: {runs}")
    for row in rows:
        if row.commit_pages:  # the SQL floor of a commit: what SQLite appends to its WAL
            pages = row.commit_pages
            print(
                f"{row.label}: a commit wrote {sum(pages) / len(pages):.1f} WAL pages on average"
                f" (the last {len(pages)} commits; p50 {sorted(pages)[len(pages) // 2]})"
            )


def print_detectors(with_detectors: Samples, without: Samples) -> None:
    added = with_detectors.p50_us() / without.p50_us() - 1
    print("\n[probes' rule detectors: get_balance in tycoon/VendingProbes-v0, SQLite]")
    print(
        f"p50 with detectors {with_detectors.p50_us():.1f} us, without "
        f"{without.p50_us():.1f} us: +{added:.0%} (goal <= 10%)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="cheap-step samples")
    parser.add_argument("--days", type=int, default=120, help="night samples")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up steps (untimed)")
    parser.add_argument("--year-days", type=int, default=365, help="scripted Year length (0: skip)")
    parser.add_argument("--postgres", metavar="URL|auto", help="also run on PostgreSQL")
    args = parser.parse_args(argv)

    print(
        f"python {sys.version.split()[0]}, tycoon {tycoon.__version__}, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory(prefix="tycoon-bench-") as tmp:
        workdir = Path(tmp)
        sqlite = step_figures(f"sqlite:///{workdir / 'steps.db'}", args, workdir, postgres=False)
        print_steps("sqlite (floor: the same statements replayed with raw sqlite3)", sqlite, None)
        if args.postgres:
            with postgres_server(args.postgres) as url:
                postgres = step_figures(url, args, workdir, postgres=True)
                print_steps("postgresql (loopback)", postgres, sqlite)
        if args.steps:
            print_detectors(
                *detector_figures(f"sqlite:///{workdir / 'probes.db'}", args.steps, args.warmup)
            )
        if args.year_days:
            rows = year_figures(lambda name: f"sqlite:///{workdir / name}.db", args.year_days)
            print_years(rows, args.year_days)


if __name__ == "__main__":
    main()
