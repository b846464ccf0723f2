"""`tycoon run --env tycoon/VendingArena-v0 --fork MARKET`: the whole market copied (every
seat's episode and the market's rows) and continued; the copy and the original, each
continued with the same seats, end in the uninterrupted run's state.

The market is killed mid-round first (tests/cli/arena_kill_driver.py), so the fork also
carries a round the kill cut short and seats rebuilt from what they saw. The killed
markets and their resumes are real processes; the reference and the forks run in the
test's process.
"""

from __future__ import annotations

import re

import pytest
from arena_kill import (
    ARENA,
    journal_reply,
    market_steps_in,
    reference_and_killed,
    seat_episodes,
    state_hash,
    tycoon,
)
from resume_harness import tycoon_in_process
from sqlalchemy import func, select

from tycoon.cli import main
from tycoon.envs.arena.schema import ArenaMail, ArenaMarket
from tycoon.envs.world.store import WorldStore

SEATS = ["--agent", "baseline", "--agent", "oracle", "--agent", "random"]
RUN = [*ARENA, *SEATS, "--max-days", "8", "--seed", "4", "--no-progress"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_forked_market_and_its_original_both_end_as_the_uninterrupted_run(
    backend, tmp_path, request
):
    if backend == "sqlite":
        reference_db, db = str(tmp_path / "reference.db"), str(tmp_path / "forked.db")
    else:
        reference_db = db = request.getfixturevalue("postgres_url")
    killed = reference_and_killed(reference_db, db, RUN, 3)
    reference, total, original, at = killed.reference, killed.total, killed.market_id, killed.at
    assert total // 3 <= at < total

    out = tycoon_in_process("run", *ARENA, "--fork", str(original), "--db", db, "--no-progress")
    match = re.search(rf"forked market {original} at step {at} \(day \d+\) as market (\d+)", out)
    assert match, out
    copy = int(match.group(1))
    assert copy != original
    assert f"market {copy}: 8 days, {total} steps" in out
    assert state_hash(out) == state_hash(reference)
    # the copy's seats are new episodes forked from the original's, at the fork's step
    forked, parents = seat_episodes(db, copy), seat_episodes(db, original)
    assert [e.parent_episode_id for e in forked] == [e.id for e in parents]
    # the original was left where it stood, and continues as it would have
    assert market_steps_in(db, original) == at
    resumed = tycoon("run", *ARENA, "--resume", str(original), "--db", db, "--no-progress")
    assert state_hash(resumed) == state_hash(reference)
    store = WorldStore(db)
    with store.session() as session:
        spec = session.get(ArenaMarket, copy).run_spec
        assert spec["forked_from"]["market"] == original and spec["forked_from"]["step"] == at
        assert spec["agents"] == ["baseline", "oracle", "random"]
    store.dispose()


def test_fork_refuses_unknown_finished_and_doubly_named_markets(tmp_path, capsys):
    db = str(tmp_path / "arena.db")
    assert main(["run", *ARENA, "--db", db, "--fork", "1"]) == 2
    assert "Expected an existing database file" in capsys.readouterr().err
    argv = ["run", *ARENA, "--agent", "idle", "--agent", "idle", "--max-days", "2"]
    assert main([*argv, "--db", db, "--no-progress"]) == 0
    capsys.readouterr()

    def markets() -> int:
        with WorldStore(db).session() as session:
            return session.scalar(select(func.count()).select_from(ArenaMarket))

    assert main(["run", *ARENA, "--db", db, "--fork", "7"]) == 2
    assert "Expected an arena market id" in capsys.readouterr().err
    assert main(["run", *ARENA, "--db", db, "--fork", "1"]) == 2
    assert "already ended (over); nothing to fork" in capsys.readouterr().err
    assert main(["run", *ARENA, "--db", db, "--fork", "1", "--resume", "1"]) == 2
    assert "Expected --resume MARKET or --fork MARKET, got both" in capsys.readouterr().err
    assert markets() == 1


def test_fork_refuses_a_market_another_process_is_running(tmp_path, capsys):
    from tycoon.envs.arena import vending_arena_v0

    db = str(tmp_path / "busy.db")
    argv = ["run", *ARENA, "--agent", "idle", "--agent", "idle", "--max-days", "3"]
    assert main([*argv, "--db", db, "--no-progress"]) == 0
    with WorldStore(db).session() as session:  # reopened as if it had been killed
        session.get(ArenaMarket, 1).status = "running"
        session.commit()
    holder = vending_arena_v0.env(db=db)
    holder.reset(options={"market_id": 1})
    try:
        # the lease is this process's, so open a second claimant under another owner
        import tycoon.envs.world.store as store_module

        owner = store_module.lease_owner
        store_module.lease_owner = lambda: "elsewhere:1"
        try:
            assert main(["run", *ARENA, "--db", db, "--fork", "1", "--no-progress"]) == 2
        finally:
            store_module.lease_owner = owner
        assert "cannot fork market 1" in capsys.readouterr().err
    finally:
        holder.close()
    with WorldStore(db).session() as session:
        assert session.scalar(select(func.count()).select_from(ArenaMarket)) == 1
        assert session.scalar(select(func.count()).select_from(ArenaMail)) == 0


def test_a_fork_with_an_llm_seat_continues_from_the_copied_call_journal(tmp_path):
    """The LLM seat's next tool depends on its whole conversation, so a journal not
    copied, or restored wrong, shows in the state hash; no call is asked twice."""
    from openai_server import FakeOpenAIServer

    seats = ["--agent", "openai:model-a", "--agent", "baseline"]
    with FakeOpenAIServer(journal_reply) as server:
        run = [*ARENA, *seats, "--max-days", "4", "--no-progress", "--base-url", server.base_url]
        db = str(tmp_path / "forked.db")
        killed = reference_and_killed(str(tmp_path / "reference.db"), db, run, 2, server)
        reference_calls = killed.reference_calls
        assert reference_calls is not None
        before_fork = len(server.completions) - reference_calls
        fork = ["run", *ARENA, "--fork", str(killed.market_id), "--db", db, "--no-progress"]
        out = tycoon_in_process(*fork)
        # the copy asks only the calls the original had not asked yet
        assert len(server.completions) - reference_calls - before_fork == (
            reference_calls - before_fork
        )
    assert state_hash(out) == state_hash(killed.reference)
