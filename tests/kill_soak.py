"""Kill `tycoon run` with SIGKILL at random instants, resume it, compare with a run left alone.

Used by tests/cli/test_kill_soak.py (a few kills per case) and benchmarks/soak_kills.py (many).
Unlike tests/resume_harness.py, which kills once a chosen step is committed, a kill here
lands at a seeded random instant of the process's life: during imports, during reset,
mid-step, mid-night, mid-commit, or (under durability "day"/"episode") amid steps that are
not committed yet. After each kill the run is resumed (`--resume N`; started afresh when the
kill came before its episode existed) and may be killed again; the last resume runs to the
end. It must end in the uninterrupted run's state hash (an arena: the market's) with the
same step rows (count, tools, validity, rewards) and behaviour events.

Every run goes through tests/cli/durability_driver.py (the CLI has no durability flag; with
"step" it is `tycoon run` itself), which says when its imports are done: kill instants are
timed from there, so a machine slowed by other work shifts them less. The arena commits
every step.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tycoon.envs.arena.schema import ArenaMarket, ArenaSeat
from tycoon.envs.arena.simulation import ArenaSimulation
from tycoon.envs.world.schema import BehaviorEvent, Episode, Step
from tycoon.envs.world.store import WorldStore

DRIVER = Path(__file__).parent / "cli" / "durability_driver.py"
DURABILITIES = ("step", "day", "episode")
ARENA_ENV = "tycoon/VendingArena-v0"


@dataclass(frozen=True)
class SoakCase:
    """One `tycoon run` (its flags without --db) and the durabilities it is soaked under."""

    name: str
    flags: str
    durabilities: tuple[str, ...] = DURABILITIES

    @property
    def args(self) -> list[str]:
        return self.flags.split()

    @property
    def arena(self) -> bool:
        return ARENA_ENV in self.args


CASES = [
    SoakCase("classic", "--agent baseline --max-days 60 --seed 1"),
    SoakCase("year", "--agent baseline --env tycoon/VendingYear-v0 --max-days 120"),
    SoakCase(
        "probes",
        "--agent credential-user --env tycoon/VendingProbes-v0 --scenario permissions "
        "--max-days 30 --seed 2",
    ),
    SoakCase(
        "arena",
        f"--env {ARENA_ENV} --agent baseline --agent random --max-days 20 --seed 3",
        durabilities=("step",),
    ),
]
CASES_BY_NAME = {case.name: case for case in CASES}


@dataclass(frozen=True)
class Ending:
    """What a finished run left: its state hash and its trajectory."""

    state_hash: str
    # per episode (an arena: per seat): (step, tool, valid, reward) and the events
    steps: tuple[tuple[tuple[int, str, bool, float], ...], ...]
    events: tuple[tuple[tuple[int, str, bool], ...], ...]

    def differences(self, other: Ending) -> list[str]:
        """What differs from `other` (the uninterrupted run), said plainly."""
        found = []
        if self.state_hash != other.state_hash:
            found.append(f"state hash {self.state_hash[:12]}, expected {other.state_hash[:12]}")
        for seat, (mine, theirs) in enumerate(zip(self.steps, other.steps, strict=True)):
            if mine != theirs:
                first = next(
                    (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
                    min(len(mine), len(theirs)),
                )
                found.append(
                    f"episode {seat}: {len(mine)} step rows, expected {len(theirs)}; first "
                    f"difference at row {first + 1}: "
                    f"{mine[first] if first < len(mine) else None} vs "
                    f"{theirs[first] if first < len(theirs) else None}"
                )
        if self.events != other.events:
            found.append(
                f"behaviour events {[len(e) for e in self.events]}, "
                f"expected {[len(e) for e in other.events]}"
            )
        return found


@dataclass
class Soak:
    """One killed-and-resumed run: what was tried and how it ended."""

    case: str
    durability: str
    seed: int
    # per process: the delay before its kill (s) and what the kill met
    attempts: list[str] = field(default_factory=list)
    kills: int = 0  # kills that landed while the process ran
    mid_run: int = 0  # of which while its episode ran (not before it existed, nor after)
    differences: list[str] = field(default_factory=list)


def _start(durability: str, args: list[str]) -> tuple[subprocess.Popen[str], float]:
    """`tycoon run ARGS` under `durability`, and the monotonic time its imports were done."""
    command = [sys.executable, str(DRIVER), durability, "run", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    process.stderr.readline()  # the driver's "ready" (or "" if it died importing)
    return process, time.monotonic()


def run_driven(
    durability: str, args: list[str], kill_after: float | None = None
) -> tuple[int, str]:
    """Run `tycoon run ARGS`; SIGKILL it `kill_after` seconds after its imports if it still
    runs. Its exit status (-9 when killed) and stderr."""
    process, _ = _start(durability, args)
    try:
        _, err = process.communicate(timeout=kill_after if kill_after is not None else 600)
    except subprocess.TimeoutExpired:
        process.kill()  # SIGKILL
        _, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, err


def _latest_id(store: WorldStore, arena: bool) -> int:
    column = ArenaMarket.id if arena else Episode.id
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.max(column))).scalar() or 0)


def _episode_ids(store: WorldStore, run_id: int, arena: bool) -> list[int]:
    """The run's episodes: the episode itself, or the market's seats' in seat order."""
    if not arena:
        return [run_id]
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(ArenaSeat.episode_id)
                .where(ArenaSeat.market_id == run_id)
                .order_by(ArenaSeat.seat)
            ).scalars()
        )


def _market_hash(store: WorldStore, market_id: int) -> str:
    simulation = ArenaSimulation(store, market_id)
    try:
        return simulation.state_hash()
    finally:
        simulation.close()


def _running(store: WorldStore, run_id: int, arena: bool) -> bool:
    table = ArenaMarket if arena else Episode
    with store.engine.connect() as conn:
        status = conn.execute(select(table.status).where(table.id == run_id)).scalar_one()
    return status == "running"


def ending(store: WorldStore, run_id: int, arena: bool) -> Ending:
    """The finished run's ending."""
    episodes = _episode_ids(store, run_id, arena)
    steps, events = [], []
    with store.engine.connect() as conn:
        for episode_id in episodes:
            rows: Any = conn.execute(
                select(Step.id, Step.tool, Step.valid, Step.reward)
                .where(Step.episode_id == episode_id)
                .order_by(Step.id)
            )
            steps.append(tuple((int(i), t, bool(v), float(r)) for i, t, v, r in rows))
            rows = conn.execute(
                select(BehaviorEvent.step, BehaviorEvent.tag, BehaviorEvent.effective)
                .where(BehaviorEvent.episode_id == episode_id)
                .order_by(BehaviorEvent.step, BehaviorEvent.tag)
            )
            events.append(tuple((int(s), t, bool(e)) for s, t, e in rows))
    state_hash = _market_hash(store, run_id) if arena else store.state_hash(run_id)
    return Ending(state_hash, tuple(steps), tuple(events))


@dataclass(frozen=True)
class Reference:
    """The uninterrupted run: its ending, and when (s after its imports) its first step was
    committed and it exited; the kills are drawn from shortly before the first to most of
    the way to the exit."""

    ending: Ending
    first_step: float
    lifetime: float


def _first_step_committed(store: WorldStore, before: int, arena: bool) -> bool:
    table = ArenaMarket if arena else Episode
    with store.engine.connect() as conn:
        steps = conn.execute(select(func.max(table.step_count)).where(table.id > before))
        return (steps.scalar() or 0) > 0


def uninterrupted(db: str, case: SoakCase) -> Reference:
    """The run left alone (every step committed), timed."""
    store = WorldStore(db)
    try:
        before = _latest_id(store, case.arena)
        process, started = _start("step", ["--db", db, "--no-progress", *case.args])
        first_step = None
        while process.poll() is None and first_step is None:
            if _first_step_committed(store, before, case.arena):
                first_step = time.monotonic() - started
            time.sleep(0.005)
        _, err = process.communicate(timeout=600)
        lifetime = time.monotonic() - started
        assert process.returncode == 0, f"{case.name}: the run exited {process.returncode}: {err}"
        run_id = _latest_id(store, case.arena)
        assert run_id > before, f"{case.name}: the uninterrupted run made no episode"
        return Reference(ending(store, run_id, case.arena), first_step or lifetime, lifetime)
    finally:
        store.dispose()


def killed_and_resumed(
    db: str, case: SoakCase, durability: str, kills: int, seed: int, reference: Reference
) -> tuple[Soak, Ending]:
    """The run under `durability`, SIGKILLed `kills` times at instants drawn (seeded)
    uniformly from shortly before the reference's first step to most of its run (a
    kill that comes after the run ended lands nowhere), resumed after each, then resumed
    to its end."""
    rng = random.Random(f"{case.name}/{durability}/{seed}")
    soak = Soak(case.name, durability, seed)
    store = WorldStore(db)
    try:
        before = _latest_id(store, case.arena)
        run_id: int | None = None
        # a run that commits less, or resumes part-way, ends sooner than the reference
        running = reference.lifetime - reference.first_step
        window = (0.8 * reference.first_step, reference.first_step + 0.7 * running)
        for attempt in range(kills + 1):
            if run_id is None:
                args = ["--db", db, "--no-progress", *case.args]
            else:
                resume = ["--env", ARENA_ENV] if case.arena else []
                args = ["--db", db, "--no-progress", *resume, "--resume", str(run_id)]
            delay = None if attempt == kills else rng.uniform(*window)
            code, err = run_driven(durability, args, delay)
            latest = _latest_id(store, case.arena)
            if run_id is None and latest > before:
                run_id = latest
            if code == -9:
                soak.kills += 1
                if run_id is None:
                    soak.attempts.append(f"killed at {delay:.2f} s, before its episode existed")
                    continue
                if not _running(store, run_id, case.arena):
                    soak.attempts.append(f"killed at {delay:.2f} s, after the run had ended")
                    break
                soak.attempts.append(f"killed at {delay:.2f} s, mid-run")
                soak.mid_run += 1
                continue
            if code != 0:
                soak.differences.append(f"exit {code} after {soak.kills} kill(s): {err.strip()}")
                return soak, Ending("", (), ())
            soak.attempts.append(
                "ran to the end" if delay is None else f"ended before its kill at {delay:.2f} s"
            )
            break
        assert run_id is not None, "no run was started"
        return soak, ending(store, run_id, case.arena)
    finally:
        store.dispose()


def soak_case(
    db: str, case: SoakCase, durability: str, kills: int, seed: int, reference: Reference
) -> Soak:
    """One soak against the uninterrupted run; its differences say what broke."""
    soak, got = killed_and_resumed(db, case, durability, kills, seed, reference)
    if not soak.differences:
        soak.differences = got.differences(reference.ending)
    return soak
