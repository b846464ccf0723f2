"""Every command that writes a file (`--out`, `--html`) refuses a path it cannot write
before any work (one line, exit 2, nothing created), creates a missing parent directory,
and never leaves half a file behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tycoon.cli import main
from tycoon.output_files import output_problem, write_atomically, write_text_atomically

SMALL_EXPERIMENT = (
    *("--probes", "credit", "--conditions", "reward", "--runs", "1", "--days", "2"),
    *("--population", "2", "--iterations", "1", "--processes", "1", "--no-progress"),
)


def commands(db: Path, fresh_db: Path) -> dict[str, tuple[list[str], str, bool]]:
    """Each writing command: its arguments before the output flag, the flag, and whether
    the flag names a directory."""
    episode = ["--agent", "idle", "--max-days", "1", "--db", str(fresh_db), "--no-progress"]
    return {
        "run": (["run", *episode], "--out", False),
        "rollout": (["rollout", *episode], "--out", False),
        "export": (["export", "--db", str(db), "--no-progress"], "--out", False),
        "dataset": (["dataset", "--seeds", "0-1"], "--out", False),
        "show": (["show", "1", "--db", str(db)], "--html", False),
        "leaderboard": (["leaderboard", "--db", str(db), "--no-progress"], "--html", True),
        "experiment": (["experiment", "incentives", *SMALL_EXPERIMENT], "--out", True),
    }


@pytest.fixture(scope="module")
def one_episode(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("episode") / "one.db"
    assert (
        main(["run", "--agent", "idle", "--max-days", "2", "--db", str(db), "--no-progress"]) == 0
    )
    return db


def refused(capsys, argv: list[str]) -> str:
    """The one error line of a command line refused while parsing (exit status 2)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tycoon: error: argument "), err
    return lines[0]


@pytest.mark.parametrize(
    "name", ["run", "rollout", "export", "dataset", "show", "leaderboard", "experiment"]
)
def test_an_unwritable_output_is_refused_before_any_work(tmp_path, capsys, one_episode, name):
    """On main before this, each of these ran the episode (or export, or site) and then
    failed with a FileExistsError or IsADirectoryError: exit 1, the work done and lost."""
    fresh_db = tmp_path / "fresh.db"
    argv, flag, directory = commands(one_episode, fresh_db)[name]
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    a_directory = tmp_path / "a-directory"
    a_directory.mkdir()
    suffix = "" if directory else "/out.jsonl"
    cases = {
        f"{a_file}{suffix}": f"{a_file} is a file, not a directory",
        f"/proc/tycoon-none{suffix}": "cannot create a file in /proc",
        "": "an empty path",
    }
    if directory:
        cases[str(a_file)] = f"{a_file} is a file, not a directory"
    else:
        cases[str(a_directory)] = f"{a_directory} is a directory, not a file"
    before = sorted(tmp_path.rglob("*"))
    for path, problem in cases.items():
        line = refused(capsys, [*argv, flag, path])
        assert f"argument {flag}: expected a" in line and f"got {path!r}" in line, line
        assert problem in line, line
    assert sorted(tmp_path.rglob("*")) == before  # no database, no directory, no probe file
    assert a_file.read_text() == "keep me" and list(a_directory.iterdir()) == []


def test_missing_parent_directories_are_created(tmp_path, one_episode) -> None:
    summary = tmp_path / "new" / "deeper" / "summary.json"
    argv = ["run", "--agent", "idle", "--max-days", "1", "--db", str(tmp_path / "r.db")]
    assert main([*argv, "--no-progress", "--out", str(summary)]) == 0
    assert json.loads(summary.read_text())["steps"] == 1
    page = tmp_path / "pages" / "episode.html"
    assert main(["show", "1", "--db", str(one_episode), "--html", str(page)]) == 0
    assert "<html" in page.read_text().lower()
    site = tmp_path / "site" / "board"
    assert main(["leaderboard", "--db", str(one_episode), "--html", str(site)]) == 0
    assert (site / "index.html").is_file()
    tasks = tmp_path / "tasks" / "rows.jsonl"
    assert main(["dataset", "--seeds", "0-2", "--out", str(tasks)]) == 0
    assert len(tasks.read_text().splitlines()) == 3
    # nothing but the outputs: no temporary file is left beside them
    assert not [path for path in tmp_path.rglob("*.partial")]


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def write_then_fail(handle) -> None:
        handle.write("half of a new file\n")
        raise RuntimeError("the database went away mid-export")

    with pytest.raises(RuntimeError):
        write_atomically(target, write_then_fail)
    assert target.read_text() == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["out.jsonl"]
    assert write_text_atomically(target, "new\n") == target
    assert target.read_text() == "new\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def test_export_failing_midway_leaves_no_partial_file(tmp_path) -> None:
    """On main before this, the `.partial` file stayed behind when a record failed."""
    from tycoon.export import write_jsonl

    def records():
        yield {"episode": 1}
        raise RuntimeError("episode 2 could not be read")

    with pytest.raises(RuntimeError):
        write_jsonl(records(), tmp_path / "episodes.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writer_leaves_the_old_file_whole(tmp_path) -> None:
    """SIGKILL in the middle of a write: the target still holds its old content."""
    target = tmp_path / "summary.json"
    target.write_text('{"old": true}\n')
    script = (
        "import os, signal, sys\n"
        "from tycoon.output_files import write_atomically\n"
        "def write(handle):\n"
        "    handle.write('{\"new\": ')\n"
        "    handle.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"write_atomically({str(target)!r}, write)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9, result.stderr
    assert target.read_text() == '{"old": true}\n'


def test_output_problem_names_what_is_wrong(tmp_path) -> None:
    assert output_problem(str(tmp_path / "a" / "b" / "c.json")) is None
    assert output_problem(str(tmp_path / ("x" * 300))) == "file name too long"
    assert output_problem("   ") == "an empty path"
    assert output_problem(str(tmp_path), directory=True) is None
    assert output_problem(str(tmp_path)) == f"{tmp_path} is a directory, not a file"
    assert list(tmp_path.iterdir()) == []


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
