"""What a step's commit writes to a SQLite file: the file's settings (page size, WAL
checkpoints) on a new and on an existing file, a read-only store that changes nothing, and
a lease fence that rewrites the lease row only when its time is due, while still holding
the write lock and refusing a lost lease."""

from __future__ import annotations

import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import gymnasium
import pytest
from sqlalchemy import select, text, update

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.schema import EpisodeLease
from tycoon.envs.world.store import (
    LEASE_RENEW_EVERY_S,
    NEW_FILE_PAGE_SIZE,
    WAL_CHECKPOINT_BYTES,
    WAL_SIZE_LIMIT_BYTES,
    LeaseLost,
    WorldStore,
)

ENV_ID = "tycoon/VendingClassic-v0"
GET_BALANCE = '{"name": "get_balance", "arguments": {}}'


def pragma(store: WorldStore, name: str):
    with store.engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar_one()


def test_a_new_file_has_small_pages_and_checkpoints_every_4_mb_of_wal(tmp_path) -> None:
    store = WorldStore(tmp_path / "world.db")
    assert pragma(store, "page_size") == NEW_FILE_PAGE_SIZE == 1024
    assert pragma(store, "journal_mode").lower() == "wal"
    assert pragma(store, "synchronous") == 1  # NORMAL: a commit survives a killed process
    assert pragma(store, "wal_autocheckpoint") == WAL_CHECKPOINT_BYTES // 1024 == 4096
    assert pragma(store, "journal_size_limit") == WAL_SIZE_LIMIT_BYTES
    store.dispose()
    raw = sqlite3.connect(tmp_path / "world.db")
    assert raw.execute("PRAGMA page_size").fetchone()[0] == 1024  # in the file itself
    raw.close()


def test_an_existing_file_keeps_its_page_size_and_its_rows(tmp_path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA page_size=4096")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE notes (body TEXT)")
    raw.execute("INSERT INTO notes VALUES ('kept')")
    raw.commit()
    raw.close()
    store = WorldStore(path)  # creates tycoon's tables in it
    assert pragma(store, "page_size") == 4096
    # the same 4 MB of WAL between checkpoints, in this file's pages
    assert pragma(store, "wal_autocheckpoint") == WAL_CHECKPOINT_BYTES // 4096
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM notes")).scalars().all() == ["kept"]
    env = gymnasium.make(ENV_ID, store=store).unwrapped
    env.reset(seed=3)
    env.step(GET_BALANCE)
    env.close()
    store.dispose()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA page_size").fetchone()[0] == 4096
    raw.close()


def test_a_read_only_store_leaves_an_old_file_as_it_was(tmp_path) -> None:
    path = tmp_path / "old.db"
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=3)
    env.step(GET_BALANCE)
    episode_id, expected_hash = env.episode_id, env.state_hash()
    env.close()
    env.store.dispose()
    # a file from before: 4096-byte pages, SQLite's default checkpoints, no WAL left
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("PRAGMA page_size=4096")
    raw.execute("VACUUM")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    before = path.read_bytes()
    store = WorldStore(path, read_only=True)
    assert store.state_hash(episode_id) == expected_hash
    assert [episode.id for episode in store.list_episodes()] == [episode_id]
    assert pragma(store, "page_size") == 4096
    store.dispose()
    assert path.read_bytes() == before


# -- the lease fence ----------------------------------------------------------------------


def lease_renewed_at(store: WorldStore, episode_id: int) -> float:
    with store.engine.connect() as conn:
        return conn.execute(
            select(EpisodeLease.renewed_at).where(EpisodeLease.episode_id == episode_id)
        ).scalar_one()


def age_lease(store: WorldStore, episode_id: int, seconds: float) -> float:
    with store.engine.begin() as conn:
        renewed_at = time.time() - seconds
        conn.execute(
            update(EpisodeLease)
            .where(EpisodeLease.episode_id == episode_id)
            .values(renewed_at=renewed_at)
        )
    return renewed_at


def test_a_steps_fence_renews_the_lease_only_when_its_time_is_due(backend_url) -> None:
    env = gymnasium.make(ENV_ID, db=backend_url).unwrapped
    env.reset(seed=3)
    store, episode = env.store, env.episode_id
    claimed = lease_renewed_at(store, episode)
    env.step(GET_BALANCE)
    env.step(GET_BALANCE)
    assert lease_renewed_at(store, episode) == claimed  # fresh: the row is left as it is
    nearly_due = age_lease(store, episode, LEASE_RENEW_EVERY_S - 5)
    env.step(GET_BALANCE)
    assert lease_renewed_at(store, episode) == pytest.approx(nearly_due)
    age_lease(store, episode, LEASE_RENEW_EVERY_S + 1)
    before = time.time()
    env.step(GET_BALANCE)
    assert lease_renewed_at(store, episode) >= before  # due: renewed with the step
    env.close()


def test_a_fence_that_renews_nothing_still_holds_the_write_lock_and_refuses_a_lost_lease(
    tmp_path,
) -> None:
    path = tmp_path / "world.db"
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=3)
    store, episode = env.store, env.episode_id
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with store.engine.connect() as conn:
        store.fence_step(conn, episode)  # the lease is fresh: nothing to rewrite
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # a hand-over waits for the step in flight
        conn.rollback()
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "UPDATE episode_leases SET owner = 'elsewhere:1' WHERE episode_id = ?", (episode,)
    )
    other.execute("COMMIT")
    other.close()
    with store.engine.connect() as conn, pytest.raises(LeaseLost, match="elsewhere:1"):
        store.fence_step(conn, episode)
    env.simulation.abandon()
    store.dispose()


def last_commit_pages(wal: Path) -> list[int]:
    """The pages the last transaction in a WAL file wrote (see SQLite's file format:
    a 32-byte header, then frames of a 24-byte header and a page; a frame whose commit
    field is non-zero ends a transaction; frames of an earlier pass carry other salts)."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    transactions: list[list[int]] = []
    pages: list[int] = []
    offset = 32
    while offset + 24 + page_size <= len(data) and data[offset + 8 : offset + 16] == salts:
        page, commit = struct.unpack(">II", data[offset : offset + 8])
        pages.append(page)
        if commit:
            transactions.append(pages)
            pages = []
        offset += 24 + page_size
    return transactions[-1]


def table_pages(path: Path, table: str) -> set[int]:
    raw = sqlite3.connect(path)
    try:
        return {
            page for (page,) in raw.execute("SELECT pageno FROM dbstat WHERE name = ?", (table,))
        }
    finally:
        raw.close()


def test_a_cheap_steps_commit_writes_no_page_of_a_fresh_lease(tmp_path) -> None:
    path = tmp_path / "world.db"
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=3)
    env.step(GET_BALANCE)
    lease_pages = table_pages(path, "episode_leases")
    step_pages = table_pages(path, "steps")
    assert lease_pages and step_pages
    env.step(GET_BALANCE)
    written = set(last_commit_pages(Path(f"{path}-wal")))
    assert written & step_pages  # (the WAL is read right: the step row is there)
    assert not written & lease_pages
    age_lease(env.store, env.episode_id, LEASE_RENEW_EVERY_S + 1)
    env.step(GET_BALANCE)
    assert set(last_commit_pages(Path(f"{path}-wal"))) & lease_pages  # due: rewritten
    env.close()


# -- a kill loses no committed step, checkpoints or not -----------------------------------

# Steps with a WAL of a few pages between checkpoints (so that many steps checkpoint),
# printing a line after each committed step, then waits to be killed.
CHECKPOINTING_CHILD = """
import sys, time
import gymnasium, tycoon
from tycoon.envs.world import store
store.WAL_CHECKPOINT_BYTES = 16 * 1024
env = gymnasium.make("tycoon/VendingClassic-v0", db=sys.argv[1]).unwrapped
env.reset(seed=3)
print("EPISODE", env.episode_id, flush=True)
for number in range(1, int(sys.argv[2]) + 1):
    env.step('{"name": "get_balance", "arguments": {}}')
    print("COMMITTED", number, flush=True)
time.sleep(600)
"""


def test_a_killed_process_loses_no_committed_step_across_checkpoints(tmp_path) -> None:
    path = tmp_path / "world.db"
    steps = 60
    child = subprocess.Popen(
        [sys.executable, "-c", CHECKPOINTING_CHILD, str(path), str(steps)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        episode = None
        for line in child.stdout:  # type: ignore[union-attr]
            words = line.split()
            if words[:1] == ["EPISODE"]:
                episode = int(words[1])
            if words == ["COMMITTED", str(steps)]:
                break
        else:
            pytest.fail(f"child exited early: {child.wait()} {child.stderr.read()}")  # type: ignore[union-attr]
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # the WAL was checkpointed and started over many times (its header counts them)
    restarts = struct.unpack(">I", Path(f"{path}-wal").read_bytes()[12:16])[0]
    assert restarts >= 10
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        raw.close()
    store = WorldStore(path)
    assert store.count_rows(episode)["steps"] == steps
    assert store.get_episode(episode).step_count == steps
    store.dispose()
