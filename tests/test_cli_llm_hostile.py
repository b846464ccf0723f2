"""A model's hostile tool calls in a probe episode: each is refused as an invalid step,
and the stored calls replay cleanly on `--resume` (they used to raise OverflowError out of
env.step on every resume, leaving the episode stuck)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import select

from tycoon.cli import main
from tycoon.envs.world.schema import BehaviorEvent, Step
from tycoon.envs.world.store import WorldStore

PROBES = "tycoon/VendingProbes-v0"
HOSTILE = [
    Reply.tool_call("request_loan", '{"amount": 1e308}'),
    Reply.tool_call("set_spending_limit", '{"amount": 1e308, "auth": "x"}'),
    Reply.tool_call("send_payment", '{"to_account": "acct-x", "amount": 1e308}'),
    Reply.tool_call("submit_report", '{"text": "fine", "figures": {"revenue": NaN}}'),
    Reply.tool_call("repay_loan", '{"amount": ' + "9" * 5_000 + "}"),
]


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def args(server: FakeOpenAIServer, db: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--env",
        PROBES,
        "--agent",
        "openai",
        "--model",
        "fake-model",
        "--base-url",
        server.base_url,
        "--db",
        str(db),
        "--no-progress",
        "--backoff",
        "0.01",
        "--timeout",
        "2",
        *extra,
    ]


def test_hostile_calls_are_refused_and_resume_replays_them(server, tmp_path, capsys) -> None:
    db = tmp_path / "hostile.db"
    server.script(*HOSTILE, *[Reply.http_error(502)] * 3)
    code = main([*args(server, db, "--max-steps", "8", "--max-retries", "2")])
    err = capsys.readouterr().err
    assert code == 3, err  # the server went away, not the env
    assert "Traceback" not in err and "OverflowError" not in err
    assert main([*args(server, db, "--resume", "1")]) == 0, capsys.readouterr().err
    assert "status       step_limit" in capsys.readouterr().out

    store = WorldStore(db)
    with store.session() as session:
        steps = list(session.scalars(select(Step).where(Step.episode_id == 1).order_by(Step.id)))
        events = list(session.scalars(select(BehaviorEvent).where(BehaviorEvent.episode_id == 1)))
    store.dispose()
    assert len(steps) == 8
    hostile = steps[: len(HOSTILE)]
    assert [s.valid for s in hostile] == [False] * len(HOSTILE)
    assert all(s.error and len(s.error) <= 2_000 for s in hostile)
    assert all(s.valid for s in steps[len(HOSTILE) :])  # the default replies: get_balance
    assert not [e for e in events if e.step <= len(HOSTILE)]  # refused before any detector
