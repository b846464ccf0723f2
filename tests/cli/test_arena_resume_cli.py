"""`tycoon run --env tycoon/VendingArena-v0 --resume MARKET` after SIGKILL: the same market.

Real `python -m tycoon.cli run` processes on a real database; each is killed with
SIGKILL once the market has committed a chosen number of steps (several kills per run,
landing mid-day, across nights and mid-round), resumed by the market id it printed, with
no other seat flag, and its final state hash compared with an uninterrupted run's.
"""

from __future__ import annotations

import pytest
from arena_kill import (
    ARENA,
    journal_reply,
    killed_mid_round,
    owed_seats,
    reference_and_killed,
    run_killed_at,
    state_hash,
    tycoon,
)
from openai_server import FakeOpenAIServer
from sqlalchemy import select

from tycoon.cli import main
from tycoon.envs.arena.schema import ArenaMarket
from tycoon.envs.world.store import WorldStore

SEATS = ["--agent", "baseline", "--agent", "oracle", "--agent", "random"]
RUN = [*ARENA, *SEATS, "--max-days", "14", "--seed", "3", "--no-progress"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_killed_market_resumes_by_its_id_to_the_uninterrupted_state(backend, tmp_path, request):
    if backend == "sqlite":
        reference_db, killed_db = str(tmp_path / "reference.db"), str(tmp_path / "killed.db")
    else:
        reference_db = killed_db = request.getfixturevalue("postgres_url")
    killed_run = reference_and_killed(reference_db, killed_db, RUN, 4)
    total, market_id, killed = killed_run.total, killed_run.market_id, killed_run.at
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
    assert state_hash(out) == state_hash(killed_run.reference)


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

    seats = ["--agent", "openai:model-a", "--agent", "baseline", "--agent", "oracle"]
    with FakeOpenAIServer(journal_reply) as server:
        run = [*ARENA, *seats, "--max-days", "5", "--no-progress", "--base-url", server.base_url]
        killed_db = str(tmp_path / "killed.db")
        killed = reference_and_killed(str(tmp_path / "reference.db"), killed_db, run, 3, server)
        assert owed_seats(killed_db, killed.market_id)
        resume = [*ARENA, "--resume", str(killed.market_id), "--no-progress", "--db", killed_db]
        market_id_again = killed_mid_round(killed_db, killed.total // 3, resume)
        assert market_id_again == killed.market_id
        out = tycoon("run", *resume)
        reference_calls = killed.reference_calls
        assert len(server.completions) - reference_calls == reference_calls
    assert state_hash(out) == state_hash(killed.reference)
