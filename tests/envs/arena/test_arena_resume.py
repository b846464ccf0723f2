"""A market killed with SIGKILL at any step resumes from the database and ends exactly
as the uninterrupted run (SQLite file and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tycoon.envs.arena.schema import ArenaMarket
from tycoon.envs.world.store import WorldStore

DRIVER = Path(__file__).with_name("arena_driver.py")


def drive(db: str, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(DRIVER), db, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    market, digest = done.stdout.split()
    return int(market), digest


def market_steps(store: WorldStore, market_id: int) -> int:
    with store.session() as session:
        market = session.scalar(select(ArenaMarket).where(ArenaMarket.id == market_id))
        return 0 if market is None else market.step_count


def kill_at(db: str, seed: int, market_id: int, step: int) -> int:
    """Start the driver, SIGKILL it once the market has committed `step` steps."""
    store = WorldStore(db)
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), db, str(seed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while market_steps(store, market_id) < step:
            assert process.poll() is None, "the run ended before the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return market_steps(store, market_id)
    finally:
        if process.poll() is None:
            process.kill()
        store.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigkill_and_resume_end_as_the_uninterrupted_run(backend, tmp_path, request):
    if backend == "sqlite":
        reference_db = str(tmp_path / "reference.db")
        killed_db = str(tmp_path / "killed.db")
    else:
        url = request.getfixturevalue("postgres_url")
        reference_db = killed_db = url
    reference_market, reference_hash = drive(reference_db, "5")
    store = WorldStore(killed_db)
    with store.session() as session:
        next_market = (
            int(session.scalar(select(ArenaMarket.id).order_by(ArenaMarket.id.desc())) or 0) + 1
        )
    store.dispose()
    killed_at = kill_at(killed_db, 5, next_market, 23)
    assert killed_at >= 23
    total = market_steps(WorldStore(reference_db), reference_market)
    assert killed_at < total, "the kill landed after the run ended"
    market, digest = drive(killed_db, "5", str(next_market))
    assert market == next_market
    assert digest == reference_hash


def test_a_night_another_operator_started_is_in_the_waiting_operators_records():
    """The choice documented in the env ("Trajectories"): no step row of the waiting
    operator for the night, but its world and its view of the night are complete."""
    import json

    from tycoon.envs.arena import vending_arena_v0
    from tycoon.envs.arena.views import market_views
    from tycoon.envs.world.schema import Episode, LedgerEntry, Step

    wait = json.dumps({"name": "wait_for_next_day", "arguments": {}})
    env = vending_arena_v0.env(num_operators=2, max_days=3)
    env.reset(seed=5)
    env.step(wait)  # operator_0 ends its day and waits
    env.step(wait)  # operator_1's action starts the market's night
    sim = env.core.sim
    first, second = (seat.episode_id for seat in sim.seats)
    with sim.store.session() as session:
        assert session.get(Episode, first).day == 1  # its clock moved through the night
        fees = session.scalars(
            select(LedgerEntry.amount_cents).where(
                LedgerEntry.episode_id == first, LedgerEntry.kind == "daily_fee"
            )
        ).all()
        assert fees == [200]
        assert [s.id for s in session.scalars(select(Step).where(Step.episode_id == first))] == [1]
        acting = session.get(Step, (second, 1))
        night_view = acting.info["arena"]["views"]["0"][0]
        assert night_view.startswith("Day 1 is over")
        views = market_views(session, [first, second])
    assert views.current[0][0] == night_view == env.observe("operator_0")
    assert views.current[0][1]["day"] == 2
