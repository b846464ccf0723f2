"""A judge that failed on any request says so, stores every verdict, and exits non-zero
(`--allow-judge-failures` relaxes the exit status only): after the fact and live."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tycoon.cli import main

try:  # tests/ on sys.path (rootdir conftest, no tests/__init__.py) ...
    from openai_server import FakeOpenAIServer, Reply
except ImportError:  # ... or tests/ imported as a package
    from tests.openai_server import FakeOpenAIServer, Reply

PROBES_ID = "tycoon/VendingProbes-v0"


def refused(_body: dict) -> Reply:
    return Reply.http_error(400, message="scripted: this judge refuses everything")


def half_broken(body: dict) -> Reply:
    """Price fixing gets an answer that does not parse; every other tag a clear no."""
    if body["messages"][-1]["content"].startswith("Behaviour: collusion.price_fixing"):
        return Reply.text("I think so, maybe")
    return Reply.text(json.dumps({"reasoning": "fine", "verdict": "no", "confidence": 0.9}))


def stored_verdicts(db: str) -> list:
    with create_engine(f"sqlite:///{db}").connect() as conn:
        return conn.execute(
            text("select tag, outcome, failure_kind, error, request from judge_verdicts")
        ).all()


def price_fixing_episode(tmp_path) -> str:
    db = str(tmp_path / "run.db")
    assert main(
        ["run", "--env", PROBES_ID, "--scenario", "competitor", "--agent", "price-fixer",
         "--max-days", "5", "--db", db, "--no-progress"]
    ) == 0  # fmt: skip
    return db


def test_judge_against_a_failing_server_reports_failure_and_exits_1(tmp_path, capsys) -> None:
    db = price_fixing_episode(tmp_path)
    capsys.readouterr()
    with FakeOpenAIServer(refused) as server:
        code = main(["judge", "--db", db, "--model", "judge", "--base-url", server.base_url])
        asked = len(server.completions)
    captured = capsys.readouterr()
    assert code == 1 and asked > 0
    assert f"{asked} of {asked} judge requests failed: api:" in captured.err
    assert "INCOMPLETE" in captured.out
    verdicts = stored_verdicts(db)
    assert len(verdicts) == asked
    assert {(outcome, kind) for _, outcome, kind, _, _ in verdicts} == {("failed", "api")}
    assert all("refuses everything" in error for *_, error, _ in verdicts)
    assert all(json.loads(request)["text"] for *_, request in verdicts)


def test_allow_judge_failures_exits_0_but_still_reports(tmp_path, capsys) -> None:
    db = price_fixing_episode(tmp_path)
    capsys.readouterr()
    with FakeOpenAIServer(half_broken) as server:
        code = main(
            ["judge", "--db", db, "--model", "judge", "--base-url", server.base_url,
             "--allow-judge-failures"]
        )  # fmt: skip
        asked = len(server.completions)
    captured = capsys.readouterr()
    assert code == 0
    assert f"1 of {asked} judge requests failed: parse:" in captured.err
    outcomes = sorted(outcome for _, outcome, *_ in stored_verdicts(db))
    assert outcomes == ["failed"] + ["not_flagged"] * (asked - 1)
    # without the flag the same judgement exits 1
    with FakeOpenAIServer(half_broken) as server:
        assert main(["judge", "--db", db, "--model", "judge", "--base-url", server.base_url]) == 1
    assert len(stored_verdicts(db)) == asked  # re-judging replaced, not added


def test_a_live_judge_that_failed_never_reads_none_observed(tmp_path, capsys) -> None:
    db = str(tmp_path / "live.db")
    out = tmp_path / "summary.json"
    with FakeOpenAIServer(refused) as server:
        code = main(
            ["run", "--env", PROBES_ID, "--scenario", "probes-control", "--max-days", "5",
             "--db", db, "--no-progress", "--out", str(out),
             "--judge-model", "judge", "--judge-base-url", server.base_url]
        )  # fmt: skip
        asked = len(server.completions)
    captured = capsys.readouterr()
    assert asked > 0
    assert code == 1
    assert "none observed" not in captured.out
    assert f"behaviour    INCOMPLETE: {asked} of {asked} judge requests failed: api:" in (
        captured.out
    )
    assert f"{asked} of {asked} judge requests failed" in captured.err
    summary = json.loads(out.read_text())
    assert summary["judge_failed"] == asked and summary["judge_requests"] == asked
    assert len(stored_verdicts(db)) == asked
    # `show` reads the same from the database
    assert main(["show", "1", "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "INCOMPLETE" in shown and "none observed" not in shown


def test_a_live_judge_that_answered_everything_still_reads_none_observed(tmp_path, capsys) -> None:
    def no(_body: dict) -> Reply:
        return Reply.text(json.dumps({"reasoning": "fine", "verdict": "no", "confidence": 0.9}))

    db = str(tmp_path / "live.db")
    with FakeOpenAIServer(no) as server:
        code = main(
            ["run", "--env", PROBES_ID, "--scenario", "probes-control", "--max-days", "5",
             "--db", db, "--no-progress",
             "--judge-model", "judge", "--judge-base-url", server.base_url]
        )  # fmt: skip
        asked = len(server.completions)
    assert code == 0 and asked > 0
    assert "behaviour    none observed (scenario probes-control)" in capsys.readouterr().out
    assert {outcome for _, outcome, *_ in stored_verdicts(db)} == {"not_flagged"}
