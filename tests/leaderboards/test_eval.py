"""`tycoon eval`: suites as data, runs recorded in the database, interrupted runs resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text

from tycoon.cli import main
from tycoon.envs.vending.scenarios import SCENARIOS
from tycoon.envs.world.schema import Episode, EvalEpisode, EvalRun
from tycoon.envs.world.store import WorldStore
from tycoon.instrumentation.trace import PROBES
from tycoon.leaderboards.suite import SuiteError, load_suite, suite_names


def test_shipped_suites_load_and_cover_what_the_issue_asks():
    assert {"vb1", "vb2", "probes"} <= set(suite_names())
    vb1, vb2, probes = load_suite("vb1"), load_suite("vb2"), load_suite("probes")
    assert (vb1.env, len(vb1.seeds)) == ("tycoon/VendingClassic-v0", 5)
    assert (vb2.env, len(vb2.seeds)) == ("tycoon/VendingYear-v0", 5)
    assert probes.env == "tycoon/VendingProbes-v0" and len(probes.seeds) >= 2
    names = [probe.name if hasattr(probe, "name") else probe for probe in PROBES]
    for name in names:
        assert name in probes.scenarios and f"{name}-control" in probes.scenarios
    for suite in (vb1, vb2, probes):
        assert all(s in SCENARIOS for s in suite.scenarios)
    assert vb1.published and "2502.15840" in vb1.published.source


def test_bad_suites_are_rejected_with_the_reason(tmp_path):
    with pytest.raises(SuiteError, match="unknown suite 'nope'; expected one of"):
        load_suite("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntitle: t\nenv: e\nscenarios: [default]\nseeds: [1, 1]\n")
    with pytest.raises(SuiteError, match=r"seeds: .*no repeats"):
        load_suite(str(bad))


def test_eval_records_the_run_and_its_episodes(tmp_path, capsys):
    db = tmp_path / "eval.db"
    args = ["eval", "vb2", "--agent", "idle", "--seeds", "3,4", "--max-days", "5",
            "--db", str(db), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "bank balance" in out and "2/2" in out
    store = WorldStore(db)
    with store.session() as session:
        run = session.scalars(select(EvalRun)).one()
        assert (run.suite, run.agent, run.spec["seeds"], run.spec["max_days"]) == (
            "vb2",
            "idle",
            [3, 4],
            5,
        )
        assert run.versions["python"] and "tycoon" in run.versions
        assert run.git_revision is None or len(run.git_revision) >= 40
        assert run.finished_at is not None and run.finished_at >= run.started_at
        links = session.scalars(select(EvalEpisode).order_by(EvalEpisode.seed)).all()
        assert [(link.scenario, link.seed) for link in links] == [("default", 3), ("default", 4)]
        seeds = [session.get(Episode, link.episode_id).seed for link in links]
        assert seeds == [3, 4]
    # the same command again adds nothing: the run is complete
    assert main(args) == 0
    assert "continuing (2 already finished)" in capsys.readouterr().err
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Episode)) == 2
    store.dispose()


def test_eval_rejects_bad_flags_and_changes_nothing(tmp_path, capsys):
    db = tmp_path / "bad.db"
    assert main(["eval", "vb2", "--seeds", "1,x", "--db", str(db)]) == 2
    assert "--seeds expects comma-separated whole numbers, got '1,x'" in capsys.readouterr().err
    assert main(["eval", "vb9", "--db", str(db)]) == 2
    assert "unknown suite 'vb9'" in capsys.readouterr().err
    assert main(["eval", "vb2", "--agent", "nobody", "--db", str(db)]) == 2
    assert "unknown agent 'nobody'" in capsys.readouterr().err
    if db.exists():
        with create_engine(f"sqlite:///{db}").connect() as conn:
            assert conn.execute(text("select count(*) from eval_runs")).scalar_one() == 0


def _counts(db) -> tuple[int, int, int]:
    with create_engine(f"sqlite:///{db}").connect() as conn:
        try:
            return (
                conn.execute(text("select count(*) from eval_episodes")).scalar_one(),
                conn.execute(text("select count(*) from episodes")).scalar_one(),
                conn.execute(text("select count(*) from steps")).scalar_one(),
            )
        except Exception:
            return (0, 0, 0)


def test_a_killed_eval_finishes_where_it_stopped(tmp_path):
    db = tmp_path / "killed.db"
    args = [sys.executable, "-m", "tycoon.cli", "eval", "vb2", "--agent", "baseline",
            "--seeds", "0,1,2", "--max-days", "60", "--concurrency", "1", "--db", str(db),
            "--no-progress"]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _counts(db)[2] < 50 and time.monotonic() < deadline:  # well into the first episode
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    links_before, episodes_before, _ = _counts(db)
    assert links_before >= 1 and episodes_before == links_before
    with create_engine(f"sqlite:///{db}").connect() as conn:
        before = dict(conn.execute(text("select seed, episode_id from eval_episodes")).all())
        assert conn.execute(text("select finished_at from eval_runs")).scalar_one() is None

    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "continuing" in again.stderr
    with create_engine(f"sqlite:///{db}").connect() as conn:
        after = dict(conn.execute(text("select seed, episode_id from eval_episodes")).all())
        assert conn.execute(text("select count(*) from eval_runs")).scalar_one() == 1
        assert conn.execute(text("select finished_at from eval_runs")).scalar_one() is not None
        assert conn.execute(text("select count(*) from episodes")).scalar_one() == 3
        days = conn.execute(text("select day from episodes")).scalars().all()
    assert sorted(after) == [0, 1, 2]
    assert all(after[seed] == episode for seed, episode in before.items())  # resumed, not redone
    assert days == [60, 60, 60]


@pytest.mark.postgres
def test_eval_on_postgres(postgres_url, capsys):
    seed = str(uuid.uuid4().int % 1_000_000 + 1000)  # the server is shared between tests
    args = ["eval", "vb2", "--agent", "idle", "--seeds", seed, "--max-days", "3",
            "--db", postgres_url, "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 0
    assert "continuing (1 already finished)" in capsys.readouterr().err
    assert main(["leaderboard", "--db", postgres_url, "--suite", "vb2", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    mine = [r for r in rows if r["agent"] == "idle" and r["episodes"] == 1]
    assert any(r["score"]["estimate"] == pytest.approx(500 - 2 * 3) for r in mine)
