"""The `tycoon` command, run as a user runs it, on a real SQLite file: `envs` in a real
process, the rest in this one (the `cli` fixture, tests/cli/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text


def tycoon(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def test_envs_lists_every_registered_environment() -> None:
    result = tycoon("envs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "tycoon/VendingClassic-v0",
        "tycoon/VendingYear-v0",
        "tycoon/VendingProbes-v0",
        "tycoon/VendingArena-v0",  # multi-agent (PettingZoo), listed after Gymnasium's
    ]


def test_run_prints_a_summary_and_commits_every_step(cli, tmp_path) -> None:
    db = tmp_path / "run.db"
    out = tmp_path / "summary.json"
    result = cli(
        "run", "--agent", "idle", "--max-days", "4", "--db", str(db), "--out", str(out),
        "--seed", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "net worth" in result.stdout and str(db) in result.stdout
    assert "day" in result.stderr  # the progress bar counts days
    summary = json.loads(out.read_text())
    assert summary["days"] == 4 and summary["steps"] == 4
    assert summary["bank_balance"] == pytest.approx(500 - 4 * 2)
    with create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(text("select count(*) from steps")).scalar_one() == 4


def test_default_run_is_classic_with_the_baseline(cli, tmp_path) -> None:
    result = cli("run", "--max-days", "3", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tycoon/VendingClassic-v0" in result.stdout and "agent baseline" in result.stdout
    assert (tmp_path / "runs" / "tycoon.db").exists()


def test_resuming_an_ended_episode_is_refused_in_one_line(cli, tmp_path) -> None:
    db = str(tmp_path / "resume.db")
    first = cli("run", "--agent", "idle", "--max-days", "6", "--db", db, "--no-progress")
    assert first.returncode == 0, first.stderr
    # the episode finished its 6 days: there is nothing to resume, and that is an error
    again = cli("run", "--db", db, "--resume", "1", "--no-progress")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "tycoon: error: episode 1 has already ended (finished, day 6, 6 steps); nothing to resume"
    ]
    with create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(text("select count(*) from steps")).scalar_one() == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--env", "tycoon/Nope-v0"], "unknown environment"),
        (["run", "--agent", "genius"], "unknown agent"),
        (["run", "--max-days", "0"], "at least 1"),
        (["run", "--seed", "abc"], "expected a whole number, got 'abc'"),
        (["run", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "Cannot open"),
        (["show", "999"], "Expected an existing database file"),
    ],
)
def test_bad_input_is_a_clear_error(cli, tmp_path, args, message) -> None:
    if "--db" not in args and args[0] in ("run", "show"):
        args = [*args, "--db", str(tmp_path / "bad.db")]
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
