"""`tycoon run --env tycoon/VendingArena-v0 --resume MARKET` after SIGKILL: the same market.

Real `python -m tycoon.cli run` processes on a real database; each is killed with
SIGKILL once the market has committed a chosen number of steps (several kills per run,
landing mid-day, across nights and mid-round), resumed by the market id it printed, with
no other seat flag, and its final state hash compared with an uninterrupted run's.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import select

from tycoon.cli import main
from tycoon.envs.arena.schema import ArenaMarket, ArenaSeat
from tycoon.envs.arena.views import market_views
from tycoon.envs.world.store import WorldStore

ARENA = ["--env", "tycoon/VendingArena-v0"]
SEATS = ["--agent", "baseline", "--agent", "oracle", "--agent", "random"]
DRIVER = Path(__file__).with_name("arena_kill_driver.py")
RUN = [*ARENA, *SEATS, "--max-days", "14", "--seed", "3", "--no-progress"]


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


def owed_seats(db: str, market_id: int) -> list[int]:
    """The seats the market's interrupted round still owes an action."""
    store = WorldStore(db)
    try:
        with store.session() as session:
            episodes = session.scalars(
                select(ArenaSeat.episode_id)
                .where(ArenaSeat.market_id == market_id)
                .order_by(ArenaSeat.seat)
            ).all()
            return market_views(session, list(episodes)).owed
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
    return int(re.match(r"market (\d+) ", done.stdout).group(1))


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


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_killed_market_resumes_by_its_id_to_the_uninterrupted_state(backend, tmp_path, request):
    if backend == "sqlite":
        reference_db, killed_db = str(tmp_path / "reference.db"), str(tmp_path / "killed.db")
    else:
        reference_db = killed_db = request.getfixturevalue("postgres_url")
    reference = tycoon("run", *RUN, "--db", reference_db)
    total = int(re.search(r"days, (\d+) steps", reference).group(1))
    market_id = killed_mid_round(killed_db, total // 4, RUN)
    killed = market_steps_in(killed_db, market_id)
    assert total // 4 <= killed < total
    # the kill cut a round short: seats asked together, not all of whose actions landed
    assert owed_seats(killed_db, market_id)
    resume = [*ARENA, "--resume", str(market_id), "--no-progress"]
    for fraction in (2, 3):  # killed again while resuming, wherever the run happens to be
        _, killed_again = run_killed_at(killed_db, fraction * total // 4, resume)
        assert killed < killed_again < total
        killed = killed_again
    out = tycoon("run", *resume, "--db", killed_db)
    assert f"market {market_id}: 14 days, {total} steps" in out
    assert state_hash(out) == state_hash(reference)


def test_resume_refuses_unknown_finished_and_contradicting_markets(tmp_path, capsys):
    db = str(tmp_path / "arena.db")
    assert main(["run", *ARENA, "--db", db, "--resume", "1"]) == 2
    assert "Expected an existing database file" in capsys.readouterr().err
    assert not (tmp_path / "arena.db").exists()
    argv = ["run", *ARENA, "--agent", "idle", "--agent", "idle", "--max-days", "2"]
    assert main([*argv, "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["run", *ARENA, "--db", db, "--resume", "7"]) == 2
    assert "Expected an arena market id" in capsys.readouterr().err
    assert main(["run", *ARENA, "--db", db, "--resume", "1"]) == 2
    assert "already ended" in capsys.readouterr().err
    store = WorldStore(db)
    with store.session() as session:
        session.get(ArenaMarket, 1).status = "running"
        session.commit()
    store.dispose()
    assert (
        main(["run", *ARENA, "--agent", "baseline", "--agent", "idle", "--db", db, "--resume", "1"])
        == 2
    )
    assert "leave --agent out" in capsys.readouterr().err
    with WorldStore(db).session() as session:
        assert session.scalar(select(ArenaMarket.step_count)) > 0


def test_a_killed_market_with_an_llm_seat_resumes_from_its_call_journal(tmp_path):
    """The LLM seat's next tool depends on its whole conversation (its length and the
    last result), so a conversation restored wrong, or a call asked twice, shows in the
    market's state hash and in the call count."""

    def reply(body: dict) -> Reply:
        messages = body["messages"]
        last = str(messages[-1].get("content", ""))
        if "has ended" in last or len(messages) % 5 == 0:
            return Reply.tool_call("wait_for_next_day")
        return Reply.tool_call(("get_balance", "read_inbox", "check_storage")[len(messages) % 3])

    seats = ["--agent", "openai:model-a", "--agent", "baseline", "--agent", "oracle"]
    with FakeOpenAIServer(reply) as server:
        run = [*ARENA, *seats, "--max-days", "5", "--no-progress", "--base-url", server.base_url]
        reference = tycoon("run", *run, "--db", str(tmp_path / "reference.db"))
        reference_calls = len(server.completions)
        total = int(re.search(r"days, (\d+) steps", reference).group(1))
        killed_db = str(tmp_path / "killed.db")
        market_id = killed_mid_round(killed_db, total // 3, run)
        assert owed_seats(killed_db, market_id)
        resume = [*ARENA, "--resume", str(market_id), "--no-progress", "--db", killed_db]
        market_id_again = killed_mid_round(killed_db, total // 3, resume)
        assert market_id_again == market_id
        out = tycoon("run", *resume)
        assert len(server.completions) - reference_calls == reference_calls
    assert state_hash(out) == state_hash(reference)
