"""The command line as someone who never reads the code meets it: a database on a
read-only disk, a URL that would save nothing, Ctrl-C at any moment, flags no model
reads, output folders shared between machines. In-process (`main([...])`) unless the
behaviour belongs to the process (signals, imports)."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tycoon.cli import main


def in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    """`tycoon ARGV` in this process: its exit status, standard output and error."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refusing a flag
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(code: int, err: str) -> str:
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tycoon: error: "), err
    return lines[0]


@contextlib.contextmanager
def unwritable_folder(folder: Path) -> Iterator[None]:
    """A folder no file can be created in, even by root (chattr +i), as on a read-only
    disk; fails where the file system has no immutable flag and we are root."""
    chattr = shutil.which("chattr")
    flagged = bool(chattr) and (
        subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode == 0
    )
    if not flagged:
        folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.fail("cannot make a folder unwritable here (no chattr +i, and root)")
        yield
    finally:
        if flagged:
            subprocess.run([chattr, "-i", str(folder)], check=True)
        folder.chmod(0o755)


def _idle_run(db: Path, capsys) -> None:
    code, _, err = in_process(
        ["run", "--agent", "idle", "--max-days", "1", "--db", str(db), "--no-progress"], capsys
    )
    assert code == 0, err


def _closed_copy(db: Path, copy: Path) -> None:
    """`db` as its writer leaves it when its process ends: every connection closed, so
    no -wal or -shm beside it (this process's run may still hold one open)."""
    source, target = sqlite3.connect(db), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()


def test_show_and_export_read_a_wal_database_on_a_read_only_disk(tmp_path, capsys) -> None:
    """No -wal beside the file (its writer closed): opened immutable, nothing created."""
    folder = tmp_path / "disk ü #?%"  # characters a SQLite URI filename must escape
    folder.mkdir()
    db = folder / "t.db"
    _idle_run(tmp_path / "written.db", capsys)
    _closed_copy(tmp_path / "written.db", db)
    connection = sqlite3.connect(db)
    journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    assert journal_mode == "wal"
    before = sorted(p.name for p in folder.iterdir())
    assert before == ["t.db"]  # no -wal: immutable is safe, and needed (no -shm either)
    with unwritable_folder(folder):
        code, out, err = in_process(["show", "1", "--db", str(db)], capsys)
        assert code == 0, err
        assert "agent idle" in out
        code, out, err = in_process(["export", "1", "--db", str(db)], capsys)
        assert code == 0, err
        assert '"episode_id": 1' in out
    assert sorted(p.name for p in folder.iterdir()) == before


KILLED_WRITER = """
import os, signal, sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("PRAGMA wal_autocheckpoint=0")  # the change stays in the -wal file
connection.execute("UPDATE episodes SET agent = 'written-last' WHERE id = 1")
connection.commit()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_show_reads_what_a_killed_writer_left_in_the_wal_on_a_read_only_disk(
    tmp_path, capsys
) -> None:
    """A -wal beside the file (its writer was killed): read through it, not immutable
    (which would skip the last committed change)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    db = folder / "t.db"
    _idle_run(db, capsys)
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db)], timeout=60)
    assert killed.returncode == -9
    assert (folder / "t.db-wal").stat().st_size > 0
    with unwritable_folder(folder):
        code, out, err = in_process(["show", "1", "--db", str(db)], capsys)
    assert code == 0, err
    assert "agent written-last" in out, out


def test_a_path_with_url_characters_opens_the_file_named(tmp_path, capsys) -> None:
    """`?` would start a URL's query and `%41` read as `A`: the run writes the file the
    user named, and nowhere else."""
    folder = tmp_path / "a?b"
    folder.mkdir()
    db = folder / "t%41.db"
    _idle_run(db, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a?b"]
    names = sorted(p.name for p in folder.iterdir())
    assert names[0] == "t%41.db" and set(names) <= {"t%41.db", "t%41.db-wal", "t%41.db-shm"}
    code, _out, err = in_process(["show", "1", "--db", str(db)], capsys)
    assert code == 0, err


ARENA = ["run", "--env", "tycoon/VendingArena-v0", "--agent", "idle", "--agent", "idle"]
SAVING_COMMANDS = [
    ["run", "--agent", "idle"],
    ["rollout"],
    ["eval", "vb2", "--agent", "idle"],
    ["eval", "arena", "--agent", "idle", "--agent", "baseline"],
    ARENA,
]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///"])
@pytest.mark.parametrize("command", SAVING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_database_url_naming_no_file_is_refused_where_a_run_saves(
    url, command, tmp_path, monkeypatch, capsys
) -> None:
    """SQLite takes `sqlite://` and `sqlite:///` as in-memory: the run would save nothing.
    Refused, saying what to write; `:memory:` still asks for that on purpose."""
    monkeypatch.chdir(tmp_path)
    error = one_error_line(*in_process([*command, "--db", url, "--max-days", "1"], capsys)[::2])
    assert f"got {url!r}, which names none" in error, error
    assert "--db runs/tycoon.db" in error and "--db :memory:" in error, error
    assert list(tmp_path.iterdir()) == []


def test_memory_on_purpose_still_runs(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(
        ["run", "--agent", "idle", "--max-days", "1", "--db", ":memory:", "--no-progress"], capsys
    )
    assert code == 0, err
    assert "state hash" in out
    assert list(tmp_path.iterdir()) == []


def test_eval_arena_refuses_llm_flags_no_entrant_reads(tmp_path, capsys) -> None:
    """As `run` and `rollout` do for a scripted agent: no silent run without them."""
    db = tmp_path / "e.db"
    command = ["eval", "arena", "--agent", "idle", "--agent", "baseline", "--db", str(db)]
    for flag in (["--temperature", "0.5"], ["--base-url", "http://127.0.0.1:9/v1"]):
        error = one_error_line(*in_process([*command, *flag, "--max-days", "1"], capsys)[::2])
        assert f"{flag[0]} is for an LLM agent" in error, error
        assert "no openai:MODEL entrant (idle, baseline)" in error, error
    assert not db.exists()


# the console script as pip writes it, with Ctrl-C arriving as one module is imported
INTERRUPTED_START = """
import sys
sys.argv[0] = sys.argv.pop(1)  # the console script's path
TARGET = sys.argv.pop(1)


class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == TARGET:
            raise KeyboardInterrupt


sys.meta_path.insert(0, CtrlC())
from tycoon.cli import main

sys.exit(main())
"""
# modules the command imports as it starts: in `import tycoon`, then loading the commands
STARTUP_MODULES = [
    "tycoon.registration",
    "gymnasium",
    "numpy",
    "pydantic",
    "tycoon.task_rows",
    "sqlalchemy",
    "tycoon.commands.run",
    "tycoon.commands.show",
]


@pytest.mark.parametrize("module", STARTUP_MODULES)
def test_ctrl_c_while_the_command_starts_exits_130_without_a_traceback(module, tmp_path) -> None:
    script = str(Path(sys.executable).parent / "tycoon")
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_START, script, module, "show", "1", "--db", "x.db"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert "interrupted" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_program_importing_tycoon_still_sees_its_ctrl_c(tmp_path) -> None:
    """Only the command swallows it: a program's `import tycoon` raises as usual."""
    program = INTERRUPTED_START.replace("from tycoon.cli import main", "import tycoon")
    result = subprocess.run(
        [sys.executable, "-c", program, "prog.py", "gymnasium"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == -signal.SIGINT, (result.returncode, result.stderr)
    assert "KeyboardInterrupt" in result.stderr, result.stderr


@pytest.mark.parametrize("delay", [0.0, 0.2, 0.5, 1.0])
def test_sigint_at_a_moment_of_the_start_exits_130_quietly(delay, tmp_path) -> None:
    """The real console script and a real SIGINT, at moments across its start from its
    first tycoon module on (which stage it lands in depends on the machine: any must be
    quiet). Python's own start before that (its site module, the script's first line)
    is the interpreter's, not tycoon's: `-X importtime` shows when tycoon's import runs."""
    script = Path(sys.executable).parent / "tycoon"
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", str(script), "show", "1", "--db", "x.db"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    assert process.stderr is not None
    for line in process.stderr:  # one line as each import finishes
        if line.split("|")[-1].strip() == "tycoon.envs":  # inside `import tycoon`
            break
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    # 2: it had finished; killed by SIGINT after its one line: it came as Python exited
    finished = "tycoon: error: Expected an existing database file" in err
    assert process.returncode == 130 or (finished and process.returncode in (2, -signal.SIGINT)), (
        process.returncode,
        err,
    )


KILLED_OUTPUT_WRITER = """
import os, signal, sys
from tycoon.output_files import write_atomically

def write(handle):
    handle.write("half of a file")
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)

write_atomically(sys.argv[1], write)
"""


def test_a_stale_partial_file_is_removed_only_when_it_is_this_machines(tmp_path, capsys) -> None:
    """A killed writer's temporary file names its machine: the next write here removes
    this machine's dead writers' files, never another machine's (a folder shared over
    NFS: that pid means nothing here, its writer may be live)."""
    db = tmp_path / "one.db"
    _idle_run(db, capsys)
    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_OUTPUT_WRITER, str(out / "e.jsonl")], timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    [left] = out.iterdir()
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64]
    assert left.name.startswith(f".tycoon-{host}-"), left.name
    assert left.read_text() == "half of a file"
    dead_pid = left.name.removeprefix(f".tycoon-{host}-").split("-")[0]
    elsewhere = out / f".tycoon-other-host.example-{dead_pid}-0123abcd.partial"
    elsewhere.write_text("another machine's live writer")
    code, _, err = in_process(["export", "--db", str(db), "--out", str(out / "e.jsonl")], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(["e.jsonl", elsewhere.name])
    assert elsewhere.read_text() == "another machine's live writer"


@pytest.mark.parametrize("command", [["show", "1"], ["export"], ["episodes"]])
def test_a_database_another_tool_wrote_is_one_usage_line(command, tmp_path, capsys) -> None:
    """Its own `episodes` table: what differs is named, exit 2, the file unchanged."""
    db = tmp_path / "theirs.db"
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE episodes (title TEXT)")
    connection.execute("INSERT INTO episodes VALUES ('pilot')")
    connection.commit()
    connection.close()
    before = db.read_bytes()
    error = one_error_line(*in_process([*command, "--db", str(db)], capsys)[::2])
    assert "expected a database tycoon wrote, got one whose tables differ" in error, error
    assert "no such column: episodes." in error, error
    assert db.read_bytes() == before


@pytest.mark.parametrize("seeds", ["1,-2", "0,9223372036854775808", "1,x"])
@pytest.mark.parametrize(
    "suite", [["vb2", "--agent", "idle"], ["arena", "--agent", "idle", "--agent", "baseline"]]
)
def test_eval_refuses_a_seed_no_episode_takes_before_storing_the_run(
    seeds, suite, tmp_path, capsys
) -> None:
    """On main a negative seed was stored in the eval run and failed its episode: "run
    the same command again" could never finish it."""
    db = tmp_path / "e.db"
    command = ["eval", *suite, "--seeds", seeds, "--max-days", "1", "--db", str(db)]
    error = one_error_line(*in_process(command, capsys)[::2])
    assert f"--seeds expects comma-separated whole numbers, got {seeds!r}: expected " in error, (
        error
    )
    assert not db.exists()


def test_version_prints_the_installed_version(capsys) -> None:
    """The first flag an evaluator tries: on main, "unrecognized arguments: --version"."""
    from importlib.metadata import version

    code, out, err = in_process(["--version"], capsys)
    assert code == 0, err
    assert out == f"tycoon {version('tycoon')}\n"


def test_sigint_as_the_command_exits_prints_no_traceback(tmp_path) -> None:
    """The signal right after the command's last line, while Python shuts down (its
    threading module's shutdown printed a KeyboardInterrupt traceback on main)."""
    script = Path(sys.executable).parent / "tycoon"
    for pause in (0.0, 0.002, 0.005, 0.01, 0.02):
        process = subprocess.Popen(
            [str(script), "show", "1", "--db", "x.db"],
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        assert process.stderr is not None
        last = process.stderr.readline()
        time.sleep(pause)
        process.send_signal(signal.SIGINT)
        err = last + process.stderr.read()
        process.wait(timeout=120)
        assert "Traceback" not in err, err
        assert process.returncode in (2, 130, -signal.SIGINT), (process.returncode, err)
