"""Misuse gives one line, `tycoon: error: ...` (exit 2), never a traceback (unless
--debug); read commands refuse a database that does not exist and create nothing.
The command runs in this process (the `cli` fixture, tests/cli/conftest.py); one test
keeps the real entry point, whose standard error is what a user reads."""

from __future__ import annotations

import contextlib
import importlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tycoon.cli import main


def tycoon(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("tycoon: error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# commands no other test runs as a real `tycoon` process: their refusals here do
REAL_PROCESS_COMMANDS = {"instrumentation", "leaderboard"}

ARENA_IDLE = ["run", "--env", "tycoon/VendingArena-v0", "--agent", "idle", "--agent", "idle"]


@pytest.fixture
def one_episode(idle_episode_db) -> Path:
    """One finished episode (idle, 2 days); the refused command lines below change nothing."""
    return idle_episode_db


@pytest.mark.parametrize(
    ("command", "extra"),
    [("show", ["1"]), ("export", []), ("judge", ["--model", "m", "--base-url", "http://x/v1"])],
)
def test_read_commands_refuse_a_missing_database_and_create_nothing(
    tmp_path, command, extra
) -> None:
    db = tmp_path / "sub" / "typo.db"
    result = tycoon(command, *extra, "--db", str(db))
    assert_one_line_error(result, str(db), "no such file")
    assert not db.exists() and not db.parent.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "rollout"])
def test_resume_refuses_a_missing_database_and_creates_nothing(cli, tmp_path, command) -> None:
    db = tmp_path / "sub" / "typo.db"
    result = cli(command, "--resume", "1", "--db", str(db), "--no-progress")
    assert_one_line_error(result, str(db), "no such file")
    assert list(tmp_path.iterdir()) == []


def test_read_commands_refuse_a_file_that_is_not_a_tycoon_database(cli, tmp_path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = cli("export", "--db", str(empty))
    assert_one_line_error(result, "Expected a tycoon database")
    assert empty.read_bytes() == b""  # no tables were created in it


def test_show_prints_the_steps_of_a_real_episode(cli, one_episode) -> None:
    result = cli("show", "1", "--db", str(one_episode))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "episode      1 (tycoon/VendingClassic-v0, agent idle" in out
    assert "steps        2" in out
    step_lines = [line for line in out.splitlines() if line.startswith("#")]
    assert len(step_lines) == 2
    assert all("wait_for_next_day" in line for line in step_lines)
    # (the day numbers are another test's concern) step ids, tools and first lines
    assert step_lines[0].startswith("#    1 day") and step_lines[1].startswith("#    2 day")
    assert all("is over" in line for line in step_lines)
    assert "[invalid]" not in out


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "--seed", "-1"], ["--seed", "expected a seed from 0", "got -1"]),
        (["run", "--seed", str(2**64)], ["--seed", "expected a seed from 0"]),
        (["run", "--resume", "99"], ["no episode 99"]),
        (["show", "99"], ["existing episode", "99"]),
        (["judge", "--episode", "99", "--model", "m", "--base-url", "http://x/v1"], ["99"]),
        (["run", "--max-days", "zero"], ["--max-days", "expected a whole number"]),
        # past what numpy and the SQL INTEGER counters hold (was a numpy ValueError)
        (["run", "--max-days", str(10**20)], ["--max-days", "at most 2147483647", str(10**20)]),
        (["run", "--max-steps", str(2**31)], ["--max-steps", "at most 2147483647"]),
        (["run", "--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
        # NaN breaks no bound by comparison: it is refused as not finite, not as "> 2"
        (
            [
                "run",
                "--agent",
                "openai",
                "--model",
                "m",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--temperature",
                "nan",
            ],
            ["--temperature", "finite number"],
        ),
        # ids past what SQL holds were an OverflowError (exit 1, "run with --debug")
        (["show", str(10**23)], ["argument episode: expected an id from 1", str(10**23)]),
        (["show", "0"], ["argument episode: expected an id from 1", "got 0"]),
        (["run", "--resume", str(10**23)], ["--resume: expected an id from 1"]),
        (["rollout", "--resume", str(10**23)], ["--resume expects comma-separated episode ids"]),
        (["export", "0"], ["EPISODE: expected an id from 1", "got 0"]),
        (
            ["judge", "--model", "m", "--base-url", "http://x/v1", "--episode", str(10**23)],
            ["--episode: expected an id from 1"],
        ),
        (["instrumentation", "agreement", "--episode", str(10**23)], ["--episode: expected an id"]),
        (
            ["run", "--agent", "replay", "--replay-episode", str(10**23)],
            ["--replay-episode: expected an id from 1"],
        ),
        # a replay of an episode that does not exist ran an episode that replayed nothing
        (["run", "--agent", "replay", "--replay-episode", "77"], ["no steps of episode 77"]),
        # a negative step count was taken as 0 without a word
        (["show", "1", "--steps", "-5"], ["--steps: expected a number from 0", "got -5"]),
        # NaN passed every threshold check (judge) and made every detector pass (validate)
        (
            ["judge", "--model", "m", "--base-url", "http://x/v1", "--threshold", "nan"],
            ["--threshold: expected a number from 0 to 1", "'nan'"],
        ),
        # the arena's own parser printed its whole usage and `tycoon run: error:`; a
        # negative seed ran, and an id past SQL's was an OverflowError
        (
            [*ARENA_IDLE, "--seed", "-1"],
            ["--seed: expected a seed from 0", "got -1"],
        ),
        (
            [*ARENA_IDLE, "--resume", str(10**23)],
            ["--resume: expected an id from 1"],
        ),
    ],
)
def test_misuse_is_one_line(cli, one_episode, args, fragments) -> None:
    extra = ["--no-progress"] if args[0] == "run" else []
    result = cli(*args, "--db", str(one_episode), *extra)
    assert_one_line_error(result, *fragments)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "--db", "", "--max-days", "1"], ["--db expects a SQLite file", "empty string"]),
        # 10**11 seeds was a MemoryError after minutes; a negative step cap was written
        (
            ["dataset", "--seeds", "0-99999999999", "--out", "t.jsonl"],
            ["at most 100,000 seeds", "'0-99999999999'"],
        ),
        (["dataset", "--max-steps", "-3", "--out", "t.jsonl"], ["--max-steps", "got -3"]),
        (["experiment", "incentives", "--penalty", "nan"], ["--penalty: expected finite dollars"]),
        (["experiment", "incentives", "--runs", "0"], ["--runs: expected a number of at least 1"]),
        (["instrumentation", "validate", "--min", "nan"], ["--min: expected a number from 0"]),
        (
            ["instrumentation", "validate", "--gold", "missing.jsonl"],
            ["expected a gold-set JSONL file, got 'missing.jsonl'", "No such file"],
        ),
        (
            ["instrumentation", "validate", "--gold", "garbage.txt"],
            ["Gold case on line 1 of garbage.txt is invalid"],
        ),
        # pydantic's several-line message was printed as it was
        (
            ["leaderboard", "--db", "{db}", "--prices", "garbage.txt"],
            ["garbage.txt: expected `models:", "Input should be a valid dictionary"],
        ),
    ],
)
def test_misuse_outside_a_database_is_one_line(cli, tmp_path, one_episode, args, fragments) -> None:
    (tmp_path / "garbage.txt").write_text("garbage\n")
    before = sorted(tmp_path.iterdir())
    argv = [arg.replace("{db}", str(one_episode)) for arg in args]
    run = tycoon if argv[0] in REAL_PROCESS_COMMANDS else cli
    assert_one_line_error(run(*argv, cwd=tmp_path), *fragments)
    assert sorted(tmp_path.iterdir()) == before  # nothing written, no database created


def test_a_db_under_a_path_that_cannot_exist(cli, tmp_path) -> None:
    result = cli("run", "--db", "/proc/x/y.db", "--no-progress", "--max-days", "1")
    assert_one_line_error(result, "/proc/x")
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    result = cli("run", "--db", str(a_file / "x.db"), "--no-progress", "--max-days", "1")
    assert_one_line_error(result, str(a_file))
    assert a_file.read_text() == "not a folder"


def _read_only(path: Path) -> contextlib.AbstractContextManager[None]:
    """Make a file unwritable even for root (chattr +i), or by mode for other users."""

    @contextlib.contextmanager
    def manage():
        chattr = shutil.which("chattr")
        immutable = False
        if (
            chattr
            and subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode == 0
        ):
            immutable = True
        else:
            path.chmod(0o444)
        try:
            yield
        finally:
            if immutable:
                subprocess.run([chattr, "-i", str(path)], check=True)
            path.chmod(0o644)

    return manage()


def test_a_read_only_database_is_one_line(cli, idle_episode_copy) -> None:
    """The unwritable file is opened by real processes: in this one, SQLite may reuse a
    descriptor an earlier connection opened for writing before the file became read-only."""
    db = idle_episode_copy  # one idle episode of 2 days
    before = db.read_bytes()
    # a URI filename opened read-only: SQLite itself refuses every write
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    result = cli("run", "--agent", "idle", "--max-days", "1", "--db", url, "--no-progress")
    assert "--debug" not in result.stderr
    assert_one_line_error(result, "read-only")
    with _read_only(db):
        result = tycoon("run", "--agent", "idle", "--max-days", "1", "--db", str(db))
        assert_one_line_error(result, "read-only")
    assert db.read_bytes() == before
    # reading it still works
    with _read_only(db):
        shown = tycoon("show", "1", "--db", str(db))
    assert shown.returncode == 0, shown.stderr


def test_postgres_url_without_psycopg_names_the_extra(tmp_path, monkeypatch, capsys) -> None:
    for module in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    code = main(["run", "--db", "postgresql+psycopg://u@127.0.0.1:1/x", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "pip install 'tycoon[postgres]'" in err and "Traceback" not in err
    code = main(["export", "--db", "postgresql://u@127.0.0.1:1/x"])
    assert code == 2 and "pip install 'tycoon[postgres]'" in capsys.readouterr().err


def test_a_missing_optional_dependency_names_its_extra(monkeypatch) -> None:
    from tycoon.cli import describe_error

    monkeypatch.setitem(sys.modules, "ray", None)  # import fails as if not installed
    try:
        importlib.import_module("ray")
    except ImportError as exc:
        message, status = describe_error(exc)
    assert status == 2
    assert message == "ray is not installed; install it with pip install 'tycoon[ray]'"


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    import tycoon.commands.envs as envs_command

    def broken(_args):
        raise ZeroDivisionError("something inside broke")

    original = envs_command.add_parser

    def add_parser(subparsers):
        original(subparsers)
        subparsers.choices["envs"].set_defaults(handler=broken)

    monkeypatch.setattr(envs_command, "add_parser", add_parser)
    assert main(["envs"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "tycoon: error: ZeroDivisionError: something inside broke",
        "run with --debug for the traceback",
    ]
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "envs"])
    with pytest.raises(ZeroDivisionError):
        main(["envs", "--debug"])


def test_an_older_database_is_read_as_it_is_and_upgraded_only_by_a_run(
    cli, idle_episode_copy
) -> None:
    """A database written before judge_verdicts and episode_leases existed: show reads it
    without changing it; a run that writes adds the missing tables and carries on."""
    db = idle_episode_copy  # one idle episode of 2 days
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE judge_verdicts")
        conn.execute("DROP TABLE episode_leases")
        # as if killed before it finished: a finished episode is not offered for resume
        conn.execute("UPDATE episodes SET status = 'running' WHERE id = 1")
    conn.close()

    def tables() -> set[str]:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return {row[0] for row in conn.execute("select name from sqlite_master")}

    before = tables()
    shown = cli("show", "1", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert tables() == before
    again = cli("run", "--agent", "idle", "--max-days", "1", "--db", str(db), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert {"judge_verdicts", "episode_leases"} <= tables()


def test_arena_faults_are_one_line_errors_too(cli, tmp_path) -> None:
    """The arena's own parser shares the CLI's error mapping: an unopenable database and
    an unreachable model server end in one line, not a traceback."""
    arena = ["run", "--env", "tycoon/VendingArena-v0", "--no-progress", "--max-days", "2"]
    unopenable = cli(*arena, "--agent", "baseline", "--agent", "idle", "--db", "/proc/x.db")
    assert_one_line_error(unopenable, "/proc/x.db", "cannot be opened")

    db = str(tmp_path / "arena.db")
    unreachable = cli(
        *arena,
        *("--agent", "openai:m", "--agent", "idle", "--db", db),
        *("--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0"),
    )
    assert unreachable.returncode == 1, unreachable.stderr
    assert "Traceback" not in unreachable.stderr, unreachable.stderr
    assert "tycoon: error: LlmUnavailable: m at http://127.0.0.1:9/v1" in unreachable.stderr


@pytest.mark.parametrize("days", ["-3", "0", "nan", str(10**20)])
def test_arena_refuses_a_day_count_out_of_range(cli, tmp_path, days) -> None:
    db = tmp_path / "arena.db"
    result = cli(
        *("run", "--env", "tycoon/VendingArena-v0", "--agent", "baseline", "--agent", "idle"),
        *("--max-days", days, "--db", str(db)),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "argument --max-days: expected a" in result.stderr
    assert not db.exists()
