"""Fixtures of the CLI tests. `cli` (tests/conftest.py) runs the command in this process."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from tycoon.cli import main


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
