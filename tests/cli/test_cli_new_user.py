"""The command line as a new user meets it: numbers in ASCII digits only, `--out -` is
standard output wherever a file flag takes it, the state hash a user can compare after a
resume, LLM flags refused where no model reads them, and errors that name the right help
and package. Real databases; a refused command line creates nothing. The command runs in
this process (`main`, or the `cli` fixture of tests/cli/conftest.py) except where the
process itself is the point: standard output of the real entry point, SIGKILL, a pipe."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from resume_harness import SCRIPTED_RUNS, _kill_when, last_episode_id

from tycoon.cli import main
from tycoon.envs.world.store import WorldStore

HASH_LINE = re.compile(r"^state hash   ([0-9a-f]{64})$", re.MULTILINE)
ARENA = ["run", "--env", "tycoon/VendingArena-v0", "--agent", "idle", "--agent", "idle"]


def tycoon(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess[str] | tuple[int, str]) -> str:
    code, stderr = (
        (result.returncode, result.stderr)
        if isinstance(result, subprocess.CompletedProcess)
        else result
    )
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tycoon: error: "), stderr
    return lines[0]


def in_process(argv: list[str], capsys) -> tuple[int, str]:
    """`tycoon ARGV` in this process: its exit status and standard error."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refusing a flag
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def hash_of(output: str) -> str:
    found = HASH_LINE.findall(output)
    assert len(found) == 1, output
    return found[0]


# --- numbers: ASCII digits only (int() and float() alone take "١٢", "1_000", " 7") ------

LLM = ["--agent", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]


@pytest.mark.parametrize(
    ("argv", "flag", "value"),
    [
        (["run", "--max-days"], "--max-days", "١٢"),  # Arabic-Indic digits: 12
        (["run", "--max-steps"], "--max-steps", "１２"),  # fullwidth digits
        (["run", "--seed"], "--seed", "٣"),
        (["run", "--max-days"], "--max-days", "1_0"),
        (["run", "--max-days"], "--max-days", " 12"),
        (["run", "--resume"], "--resume", "١"),
        (["rollout", "--episodes"], "--episodes", "٢"),
        (["show"], "episode", "١"),
        (["export"], "EPISODE", "١"),
        (["show", "1", "--steps"], "--steps", "٥"),
        (["run", *LLM, "--temperature"], "--temperature", "٠.٥"),
        (["run", *LLM, "--temperature"], "--temperature", "inf"),
        (["run", *LLM, "--timeout"], "--timeout", "nan"),
        (["run", *LLM, "--max-tokens"], "--max-tokens", "١٠٠"),
        (["run", *LLM, "--max-retries"], "--max-retries", "٣"),
        (["instrumentation", "validate", "--min"], "--min", "٠.٥"),
        (["experiment", "incentives", "--penalty"], "--penalty", "١٠"),
        (["serve", "m", "--port"], "--port", "٨٠٠٠"),
        ([*ARENA, "--max-days"], "--max-days", "١"),
    ],
)
def test_numbers_in_other_scripts_are_refused_naming_the_flag_and_the_text(
    argv, flag, value, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = one_error_line(in_process([*argv, value], capsys))
    assert flag in error and repr(value) in error, error
    assert list(tmp_path.iterdir()) == []  # no database, no output file


def test_eval_seeds_in_other_scripts_are_refused(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = one_error_line(in_process(["eval", "vb1", "--seeds", "0,١"], capsys))
    assert "--seeds expects comma-separated whole numbers, got '0,١'" in error
    assert list(tmp_path.iterdir()) == []


def test_ascii_numbers_still_parse(capsys) -> None:
    from tycoon.commands.common import ascii_float, ascii_int, episode_number

    assert [ascii_int(t) for t in ("0", "12", "+7", "-3", "007")] == [0, 12, 7, -3, 7]
    assert [ascii_float(t) for t in ("0.5", ".5", "2.", "1e-3", "-0")] == [0.5, 0.5, 2.0, 1e-3, 0]
    for bad in ("", "1e999", "0x10", "1.5.2", "١", "infinity"):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            ascii_float(bad) if bad != "0x10" else ascii_int(bad)
    assert episode_number("42") == 42


# --- `--out -` is standard output for run and rollout, as for export --------------------


@pytest.mark.parametrize(
    ("command", "in_this_process"), [("run", False), ("rollout", True)], ids=["run", "rollout"]
)
def test_out_dash_writes_the_json_to_standard_output_and_no_file(
    command, in_this_process, tmp_path, cli
) -> None:
    """`run` as a real process (its standard output carries the JSON alone), `rollout` in
    this one (the same writer)."""
    done = (cli if in_this_process else tycoon)(
        command, "--agent", "idle", "--max-days", "2", "--db", "w.db", "--no-progress",
        "--out", "-", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # standard output is the JSON alone
    assert not (tmp_path / "-").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.db"]
    store = WorldStore(tmp_path / "w.db")
    if command == "run":
        assert payload["episode_id"] == 1 and payload["steps"] == 2
        assert payload["state_hash"] == store.state_hash(1) == hash_of(done.stderr)
        assert "net worth" in done.stderr  # the text summary moved to standard error
    else:
        assert [row["episode_id"] for row in payload] == [1]
        assert "1 episode(s), 2 steps" in done.stderr


# --- the state hash, printed where a user looks ------------------------------------------


def test_a_killed_and_resumed_run_prints_the_hash_of_an_uninterrupted_one(tmp_path, cli) -> None:
    """A user checks a resume themselves: `run` ends with the world's state hash, and
    `show` prints it; kill -9 mid-run, resume, and the hash is the uninterrupted run's.
    The killed run and its resume are real processes; the reference run and `show` run
    in this one."""
    flags = [*SCRIPTED_RUNS["baseline"], "--no-progress"]
    whole = cli("run", "--db", str(tmp_path / "whole.db"), *flags)
    assert whole.returncode == 0, whole.stderr
    expected = hash_of(whole.stdout)

    db = str(tmp_path / "killed.db")
    store = WorldStore(db)
    process = subprocess.Popen(
        [sys.executable, "-m", "tycoon.cli", "run", "--db", db, *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        episode_id, killed_at = _kill_when(process, store, None, at_step=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert last_episode_id(store) == episode_id
    killed = cli("show", str(episode_id), "--db", db, "--steps", "0")
    assert killed.returncode == 0, killed.stderr
    assert hash_of(killed.stdout) != expected  # the killed world is not the finished one
    resumed = tycoon("run", "--db", db, "--resume", str(episode_id), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert hash_of(resumed.stdout) == expected, killed_at
    shown = cli("show", str(episode_id), "--db", db, "--steps", "0")
    assert hash_of(shown.stdout) == expected == store.state_hash(episode_id)
    store.dispose()


# --- LLM flags where no model reads them --------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--temperature", "1.5"],
        ["--temperature", "0"],
        ["--max-tokens", "64"],
        ["--context-tokens", "9000"],
        ["--logprobs"],
        ["--return-token-ids"],
        ["--model", "gpt-x"],
        ["--base-url", "http://127.0.0.1:9/v1"],
        ["--timeout", "5"],
        ["--max-retries", "0"],
        ["--transport", "openai"],
        ["--api-key-env", "MY_KEY"],
    ],
)
@pytest.mark.parametrize("command", ["run", "rollout", "arena"])
def test_llm_flags_are_refused_for_scripted_agents(command, flags, tmp_path, capsys) -> None:
    db = tmp_path / "none.db"
    argv = ARENA if command == "arena" else [command, "--agent", "baseline"]
    error = one_error_line(in_process([*argv, "--db", str(db), *flags], capsys))
    assert f"{flags[0]} is for an LLM agent" in error and "got " in error, error
    assert not db.exists()


def test_eval_refuses_llm_flags_for_a_scripted_agent(tmp_path, capsys) -> None:
    db = tmp_path / "none.db"
    argv = ["eval", "vb1", "--agent", "idle", "--db", str(db), "--temperature", "1"]
    error = one_error_line(in_process(argv, capsys))
    assert "--temperature is for an LLM agent, got --agent idle" in error
    assert not db.exists()


def test_server_flags_are_kept_for_llm_written_supplier_replies(tmp_path, capsys) -> None:
    """--base-url and its kin also reach --supplier-model: not refused with it (the run
    gets as far as asking the server, which is down: the writer falls back, the run ends)."""
    db = tmp_path / "sup.db"
    argv = ["run", "--agent", "idle", "--max-days", "1", "--db", str(db), "--no-progress",
            "--supplier-model", "m", "--base-url", "http://127.0.0.1:9/v1", "--timeout", "1",
            "--max-retries", "0"]  # fmt: skip
    code, err = in_process(argv, capsys)
    assert code == 0, err
    error = one_error_line(in_process([*argv, "--temperature", "1"], capsys))
    assert "--temperature is for an LLM agent" in error


# --- what a refused command line leaves, and where errors point ---------------------------


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--agent", "nosuch"], "unknown agent 'nosuch'"),
        (["--env", "tycoon/Nope-v0"], "unknown environment 'tycoon/Nope-v0'"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
    ],
)
@pytest.mark.parametrize("command", ["run", "rollout"])
def test_a_bad_env_scenario_or_agent_creates_no_database(
    command, flags, fragment, tmp_path, capsys
) -> None:
    db = tmp_path / "sub" / "new.db"
    error = one_error_line(in_process([command, "--db", str(db), *flags], capsys))
    assert fragment in error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "flags", [["--bogus"], ["--max-days", "0"], ["--scenario", "nope"], ["--seed", "x"]]
)
def test_the_arenas_parse_errors_point_at_the_arenas_help(flags, capsys) -> None:
    error = one_error_line(in_process([*ARENA, *flags], capsys))
    assert error.endswith("(see tycoon run --env tycoon/VendingArena-v0 --help)"), error
    with pytest.raises(SystemExit):  # the help it points at is the arena's own
        main(["run", "--env", "tycoon/VendingArena-v0", "--help"])
    assert "one --agent per seat" in capsys.readouterr().out


def test_a_mysql_url_names_the_package_to_install(cli) -> None:
    import importlib.util

    assert importlib.util.find_spec("MySQLdb") is None  # else this URL would connect
    done = cli("run", "--db", "mysql://user:secret@127.0.0.1:9/x", "--max-days", "1")
    error = one_error_line(done)
    assert "'MySQLdb' driver" in error and error.endswith("pip install mysqlclient"), error
    assert "secret" not in error


def test_the_cli_names_the_pypi_package_of_a_missing_driver_module() -> None:
    from tycoon.cli import describe_error

    message, status = describe_error(ModuleNotFoundError("no MySQLdb", name="MySQLdb"))
    assert status == 2 and message.endswith("pip install mysqlclient"), message
    message, _ = describe_error(ModuleNotFoundError("no x", name="pymysql"))
    assert message.endswith("pip install pymysql"), message


# --- more a user meets: a pipe's reader leaving, malformed URLs --------------------------


def test_a_reader_that_leaves_the_pipe_ends_the_command_quietly(tmp_path, cli) -> None:
    """`tycoon export | head -c 10`: exit 141 (as a shell's tools), no error, no traceback.
    The export is a real process (its pipe); the two runs it exports run in this one."""
    db = tmp_path / "pipe.db"
    for seed in ("1", "2"):
        done = cli("run", "--agent", "idle", "--max-days", "3", "--seed", seed,
                      "--db", str(db), "--no-progress")  # fmt: skip
        assert done.returncode == 0, done.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "tycoon.cli", "export", "--db", str(db), "--out", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10) == b'{"episode_'
    process.stdout.close()  # the reader leaves with most of the output unread
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, stderr
    assert stderr == "", stderr


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://user:secret@[::1", "'postgresql://user:***@[::1'"),
        ("postgresql://user:secret@host:port/db", "'port'"),
        ("://nothing", "'://nothing'"),
    ],
)
@pytest.mark.parametrize("command", [["run", "--max-days", "1"], ["show", "1"], ["export"]])
def test_a_malformed_database_url_is_a_usage_error_without_its_password(
    command, url, fragment, capsys
) -> None:
    error = one_error_line(in_process([*command, "--db", url], capsys))
    assert "--db expects a SQLite file or a database URL" in error and fragment in error
    assert "secret" not in error


@pytest.mark.parametrize("url", ["notaurl", "localhost:8000/v1", "ftp://h/v1", "http://h:xx/v1"])
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--agent", "openai", "--model", "m", "--base-url"],
        ["run", "--supplier-model", "m", "--supplier-base-url"],
        ["run", "--judge-model", "j", "--judge-base-url"],
        ["judge", "--model", "j", "--base-url"],
        ["eval", "vb1", "--agent", "openai", "--model", "m", "--base-url"],
        [*ARENA, "--base-url"],
    ],
)
def test_a_model_server_url_that_is_not_http_is_refused_before_anything_runs(
    argv, url, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = one_error_line(in_process([*argv, url], capsys))
    assert "expected an http:// or https:// URL" in error and repr(url) in error, error
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_of_a_killed_writer_is_removed_by_the_next_write(
    tmp_path, cli, idle_episode_db
) -> None:
    """kill -9 mid-`export --out F` leaves F's temporary file (`.tycoon-<pid>-<8 hex digits>.partial`,
    as large as what was written); the next write in that directory removes it, and
    keeps a live writer's. (The export runs in this process: the dead writer and the live
    one are real processes, named by their pids.)"""
    db = idle_episode_db  # one idle episode of 2 days
    out = tmp_path / "out"
    out.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = out / f".tycoon-{int(gone.stdout)}-0123abcd.partial"
    stale.write_text('{"episode_id": 1, "half of a li')
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as live_writer:
        live = out / f".tycoon-{live_writer.pid}-89abcdef.partial"
        live.write_text("still being written")
        other = out / "notes.partial"  # not a tycoon writer's
        other.write_text("mine")
        try:
            exported = cli("export", "--db", str(db), "--out", str(out / "e.jsonl"))
        finally:
            live_writer.kill()
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["e.jsonl", live.name, other.name])
    assert json.loads((out / "e.jsonl").read_text())["episode_id"] == 1


def test_a_database_in_a_folder_no_file_can_be_created_in_says_so(capsys) -> None:
    """`--db` where SQLite cannot create the file: the error names the folder and why,
    not only SQLite's "unable to open database file"."""
    error = one_error_line(in_process(["run", "--db", "/proc/tycoon-new.db"], capsys))
    assert "unable to open database file" in error, error
    assert "; cannot create a file in /proc (" in error, error
    error = one_error_line(in_process(["show", "1", "--db", "/proc/tycoon-new.db"], capsys))
    assert "no such file" in error and "cannot create" not in error, error  # nothing to create
