"""`cli`: the `tycoon` command run in this process, answered as a finished process is.

A `python -m tycoon.cli` process spends ~2 s (more on a loaded machine) importing tycoon
before it reads its first flag; most CLI tests pin what the command prints, exits with and
leaves on disk, none of which depends on the process. Those call `tycoon.cli.main(argv)`
here: the same parser, handlers and error mapping, standard output and error captured by
pytest (capsys), the working directory and environment set for the call (monkeypatch).
What is a property of the process (signals, SIGKILL and resume, a pipe's reader leaving,
import-time behaviour, the real entry point's streams) keeps a real process in its test;
every command keeps at least one such end-to-end test.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tycoon.cli import main

InProcess = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(capsys, monkeypatch) -> InProcess:
    """`cli(*args, cwd=None, env=None)`: `tycoon ARGS` run by `main`, as a CompletedProcess
    (returncode, stdout, stderr); argparse's SystemExit is its exit status."""

    def run(
        *args: str, cwd: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()  # what earlier calls printed is not this call's output
        with monkeypatch.context() as scoped:
            if cwd is not None:
                scoped.chdir(Path(cwd))
            for name, value in (env or {}).items():
                scoped.setenv(name, value)
            exit_message = ""
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse refusing a flag, or --help
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):  # as the interpreter prints it on exit
                    exit_message = exc.code + "\n"
        out, err = capsys.readouterr()
        err += exit_message
        return subprocess.CompletedProcess(["tycoon", *args], code, out, err)

    return run


@pytest.fixture(scope="session")
def idle_episode_db(tmp_path_factory) -> Path:
    """A SQLite file holding one finished episode (idle agent, 2 days, seed 0), made once
    for the session. Tests only read it; one that writes copies it (`idle_episode_copy`)."""
    db = tmp_path_factory.mktemp("idle-episode") / "one.db"
    argv = ["run", "--agent", "idle", "--max-days", "2", "--db", str(db), "--no-progress"]
    assert main(argv) == 0
    return db


@pytest.fixture
def idle_episode_copy(idle_episode_db, tmp_path) -> Path:
    """This test's own copy of `idle_episode_db`, free to change."""
    copy = tmp_path / "one.db"
    # SQLite's backup, not a file copy: the episode may still be in the WAL file
    with (
        contextlib.closing(sqlite3.connect(idle_episode_db)) as source,
        contextlib.closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)
    return copy
