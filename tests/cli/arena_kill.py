"""The kill-and-continue harness of the arena CLI tests (resume and fork).

`tycoon run` on a real database: an uninterrupted reference run (`main` in the test's
process, `tycoon_in_process`), then the same run, a real process, killed mid-round (`arena_kill_driver.py`) or from outside (`run_killed_at`); a test
continues the killed market (`--resume`, `--fork`) and compares its state hash with the
reference's. `journal_reply` is the scripted LLM seat whose next tool depends on its whole
conversation, so a conversation restored wrong shows in the hash.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from openai_server import FakeOpenAIServer, Reply
from resume_harness import tycoon_in_process
from sqlalchemy import select
from sqlalchemy.orm import Session

from tycoon.envs.arena.schema import ArenaMarket, ArenaSeat
from tycoon.envs.arena.views import market_views
from tycoon.envs.world.schema import Episode
from tycoon.envs.world.store import WorldStore

ARENA = ["--env", "tycoon/VendingArena-v0"]
DRIVER = Path(__file__).with_name("arena_kill_driver.py")


def tycoon(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def state_hash(out: str) -> str:
    match = re.search(r"state hash ([0-9a-f]{64})", out)
    assert match, out
    return match.group(1)


def total_steps(out: str) -> int:
    """The steps a finished run reports ("N days, M steps")."""
    match = re.search(r"days, (\d+) steps", out)
    assert match, out
    return int(match.group(1))


def seat_episode_ids(session: Session, market_id: int) -> list[int]:
    """The market's seats' episode ids, in seat order."""
    return list(
        session.scalars(
            select(ArenaSeat.episode_id)
            .where(ArenaSeat.market_id == market_id)
            .order_by(ArenaSeat.seat)
        )
    )


def seat_episodes(db: str, market_id: int) -> list[Episode]:
    """The market's seats' episodes, in seat order."""
    store = WorldStore(db)
    try:
        with store.session() as session:
            return [session.get(Episode, i) for i in seat_episode_ids(session, market_id)]
    finally:
        store.dispose()


def owed_seats(db: str, market_id: int) -> list[int]:
    """The seats the market's interrupted round still owes an action."""
    store = WorldStore(db)
    try:
        with store.session() as session:
            return market_views(session, seat_episode_ids(session, market_id)).owed
    finally:
        store.dispose()


def market_steps_in(db: str, market_id: int) -> int:
    store = WorldStore(db)
    try:
        return market_steps(store, market_id)
    finally:
        store.dispose()


def market_steps(store: WorldStore, market_id: int) -> int:
    with store.session() as session:
        market = session.get(ArenaMarket, market_id)
        return 0 if market is None else market.step_count


def killed_mid_round(db: str, step: int, args: list[str]) -> int:
    """`tycoon run ARGS` killing itself in the first round it cuts short after `step`
    actions; the market id it printed."""
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(step), "run", *args, "--db", db],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    match = re.match(r"market (\d+) ", done.stdout)
    assert match, done.stdout
    return int(match.group(1))


@dataclass(frozen=True)
class KilledRun:
    reference: str  # the uninterrupted run's output
    total: int  # its steps
    market_id: int  # the killed run's market
    at: int  # the steps it had committed when the kill landed
    reference_calls: int | None  # the LLM server's completions the reference asked


def reference_and_killed(
    reference_db: str,
    db: str,
    args: list[str],
    divisor: int,
    server: FakeOpenAIServer | None = None,
) -> KilledRun:
    """The uninterrupted `tycoon run ARGS` on `reference_db`, then the same run on `db`
    killed mid-round after the reference's steps // `divisor` (`server`: the LLM seats'
    server, whose completions the reference asked are counted)."""
    reference = tycoon_in_process("run", *args, "--db", reference_db)
    calls = None if server is None else len(server.completions)
    total = total_steps(reference)
    market_id = killed_mid_round(db, total // divisor, args)
    return KilledRun(reference, total, market_id, market_steps_in(db, market_id), calls)


def run_killed_at(db: str, step: int, args: list[str]) -> tuple[int, int]:
    """Start `tycoon run ARGS`, SIGKILL it once its market has `step` steps; return the
    market id it printed and the steps committed when the kill landed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tycoon.cli", "run", *args, "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    store = WorldStore(db)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"market (\d+) \(resume: .* --resume (\d+)\)", first)
        assert match, first
        market_id = int(match.group(1))
        deadline = time.monotonic() + 300
        while market_steps(store, market_id) < step:
            assert process.poll() is None, "the run ended before the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return market_id, market_steps(store, market_id)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        store.dispose()


def journal_reply(body: dict) -> Reply:
    """An LLM seat whose next tool depends on its whole conversation (its length and
    the last result)."""
    messages = body["messages"]
    last = str(messages[-1].get("content", ""))
    if "has ended" in last or len(messages) % 5 == 0:
        return Reply.tool_call("wait_for_next_day")
    return Reply.tool_call(("get_balance", "read_inbox", "check_storage")[len(messages) % 3])
