"""`tycoon run --env tycoon/VendingArena-v0` with one --agent per seat, LLM and scripted."""

from __future__ import annotations

import threading
import time

from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import func, select

from tycoon.cli import main
from tycoon.envs.arena.schema import ArenaSeat
from tycoon.envs.world.schema import Episode, LlmCall, Step
from tycoon.envs.world.store import WorldStore


def test_scripted_seats_run_a_market_and_print_scores(tmp_path, capsys):
    db = tmp_path / "arena.db"
    argv = ["run", "--env", "tycoon/VendingArena-v0", "--agent", "baseline", "--agent", "idle"]
    assert main([*argv, "--max-days", "6", "--db", str(db), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "operator_0 (baseline)" in out and "operator_1 (idle)" in out and "#1" in out
    store = WorldStore(db)
    with store.session() as session:
        seats = session.scalars(select(ArenaSeat).order_by(ArenaSeat.seat)).all()
        assert [s.agent for s in seats] == ["baseline", "idle"]
        assert {e.day for e in session.scalars(select(Episode))} == {6}


def test_bad_seat_lists_are_refused_in_one_line(tmp_path, capsys):
    db = str(tmp_path / "arena.db")
    base = ["run", "--env", "tycoon/VendingArena-v0", "--db", db]
    assert main([*base, "--agent", "baseline"]) == 2
    assert "Expected 2-4 --agent flags" in capsys.readouterr().err
    assert main([*base, "--agent", "baseline", "--agent", "nobody"]) == 2
    assert "got 'nobody'" in capsys.readouterr().err
    assert main([*base, "--agent", "baseline", "--agent", "openai"]) == 2
    assert "openai:MODEL" in capsys.readouterr().err


def test_llm_seats_call_their_models_together_each_with_its_own_context(tmp_path, capsys):
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def reply(body: dict) -> Reply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.15)
        with lock:
            in_flight -= 1
        tool = "wait_for_next_day" if len(body["messages"]) > 4 else "get_balance"
        return Reply.tool_call(tool)

    db = tmp_path / "arena.db"
    with FakeOpenAIServer(reply) as server:
        argv = [
            "run",
            "--env",
            "tycoon/VendingArena-v0",
            "--agent",
            "openai:model-a",
            "--agent",
            "openai:model-b",
            "--agent",
            "baseline",
            "--base-url",
            server.base_url,
            "--max-days",
            "2",
            "--db",
            str(db),
            "--no-progress",
            "--backoff",
            "0.01",
            "--timeout",
            "5",
        ]
        assert main(argv) == 0
        models = {r.body["model"] for r in server.completions}
    assert peak >= 2  # both LLM seats' calls were in flight at once
    assert models == {"model-a", "model-b"}
    store = WorldStore(db)
    with store.session() as session:
        seats = session.scalars(select(ArenaSeat).order_by(ArenaSeat.seat)).all()
        for seat in seats[:2]:
            calls = session.scalar(
                select(func.count())
                .select_from(LlmCall)
                .where(LlmCall.episode_id == seat.episode_id)
            )
            steps = session.scalar(
                select(func.count()).select_from(Step).where(Step.episode_id == seat.episode_id)
            )
            assert calls == steps and steps >= 4
        assert [s.model for s in seats] == ["model-a", "model-b", ""]


def test_probes_per_seat_or_for_every_seat(tmp_path, capsys):
    from sqlalchemy import select

    from tycoon.envs.arena.schema import ArenaSeat
    from tycoon.envs.world.schema import Episode, File
    from tycoon.envs.world.store import WorldStore

    db = str(tmp_path / "probes.db")
    argv = ["run", "--env", "tycoon/VendingArena-v0", "--agent", "idle", "--agent", "idle"]
    argv += ["--agent", "idle", "--max-days", "2", "--db", db, "--no-progress"]
    assert main([*argv, "--probes", "oversight", "--probes", "1=credit-control"]) == 0
    capsys.readouterr()
    store = WorldStore(db)
    with store.session() as session:
        names = []
        for episode_id in session.scalars(select(ArenaSeat.episode_id).order_by(ArenaSeat.seat)):
            probes = session.get(Episode, episode_id).config["probes"]
            names.append(probes["name"])
            oversight = session.scalar(
                select(File.path).where(
                    File.episode_id == episode_id, File.path == "/ops/oversight.yaml"
                )
            )
            assert (oversight is not None) == (probes["name"] == "oversight")
        assert names == ["oversight", "credit-control", "oversight"]
    store.dispose()
    for bad, message in (
        ("3=credit", "Expected --probes SEAT=SCENARIO with SEAT in 0..2, got '3=credit'"),
        ("competitor", "fit a market (not competitor or expansion), got 'competitor'"),
    ):
        assert main([*argv, "--probes", bad]) == 2
        assert message in capsys.readouterr().err
