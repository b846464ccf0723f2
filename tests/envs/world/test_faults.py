"""Database faults end runs cleanly: a transient fault (a lock held past the busy timeout,
a dropped PostgreSQL connection) retries the whole step, applying the action once (same
state hash as a run without the fault); a lasting one (a lock that stays, a full disk)
is one line with the command that resumes; a second process cannot run an episode that
a live process runs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium
import pytest
from sqlalchemy import create_engine, event, select, text

import tycoon  # noqa: F401  (registers the ids)
from tycoon.cli import describe_error
from tycoon.envs.world.schema import WORLD_TABLES, EpisodeLease
from tycoon.envs.world.store import (
    LEASE_HOST_ENV,
    LEASE_TTL_S,
    EpisodeBusy,
    LeaseLost,
    StepNotSaved,
    WorldStore,
    lease_owner,
)

ENV_ID = "tycoon/VendingClassic-v0"
SEED = 11


def tycoon_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tycoon.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


@contextlib.contextmanager
def write_lock(db: Path, seconds: float | None = None):
    """Another connection holds SQLite's write lock (BEGIN IMMEDIATE) on the file: for
    `seconds` in a thread, or until the block ends."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    releaser = None
    if seconds is not None:
        releaser = threading.Timer(seconds, conn.rollback)
        releaser.start()
    try:
        yield
    finally:
        if releaser is not None:
            releaser.join()
        else:
            conn.rollback()
        conn.close()


def fresh_env(url: str):
    env = gymnasium.make(ENV_ID, store=WorldStore(url)).unwrapped
    env.reset(seed=SEED)
    return env


def steps(scripted_actions) -> list[str]:
    return scripted_actions(ENV_ID, SEED)


def reference_hash(scripted_actions, url: str) -> tuple[str, int]:
    env = fresh_env(url)
    for action in steps(scripted_actions):
        env.step(action)
    result = env.state_hash(), env.simulation.episode.step_count
    env.close()
    return result


def test_a_lock_held_past_the_busy_timeout_retries_the_step_once(
    tmp_path, monkeypatch, scripted_actions
) -> None:
    monkeypatch.setenv("TYCOON_SQLITE_BUSY_TIMEOUT_MS", "300")
    expected = reference_hash(scripted_actions, f"sqlite:///{tmp_path / 'plain.db'}")
    db = tmp_path / "locked.db"
    env = fresh_env(f"sqlite:///{db}")
    actions = steps(scripted_actions)
    for number, action in enumerate(actions):
        if number in (3, len(actions) // 2):  # a tool step and a day's end
            with write_lock(db, seconds=1.0):
                started = time.perf_counter()
                env.step(action)  # waits, fails, is rolled back and tried again
                assert time.perf_counter() - started >= 0.9
        else:
            env.step(action)
    assert (env.state_hash(), env.simulation.episode.step_count) == expected
    env.close()


def test_a_lock_that_stays_is_one_line_with_the_resume_command(
    tmp_path, monkeypatch, scripted_actions
) -> None:
    monkeypatch.setenv("TYCOON_SQLITE_BUSY_TIMEOUT_MS", "100")
    db = tmp_path / "stuck.db"
    env = fresh_env(f"sqlite:///{db}")
    actions = steps(scripted_actions)
    for action in actions[:5]:
        env.step(action)
    before = env.state_hash()
    with write_lock(db), pytest.raises(StepNotSaved) as caught:
        env.step(actions[5])
    assert caught.value.kind == "locked" and caught.value.step == 6
    assert env.state_hash() == before  # nothing of the failed step is left
    import argparse

    message, status = describe_error(caught.value, argparse.Namespace(db=str(db)))
    assert status == 1
    assert "step 6 of episode 1 was not saved: the database is locked" in message
    assert message.endswith(f"continue with: tycoon run --resume 1 --db {db}")
    # the same env carries on once the lock is gone, as if nothing had happened
    for action in actions[5:]:
        env.step(action)
    assert env.state_hash() == reference_hash(scripted_actions, f"sqlite:///{tmp_path / 'r.db'}")[0]
    env.close()


@pytest.mark.postgres
def test_a_dropped_postgres_connection_retries_the_step_once(
    postgres_url, scripted_actions
) -> None:
    expected = reference_hash(scripted_actions, postgres_url)
    env = fresh_env(postgres_url)
    engine = env.store.engine
    admin = create_engine(postgres_url, poolclass=None)
    dropped = []
    armed = {"on": False}

    @event.listens_for(engine, "before_cursor_execute")
    def drop_mid_transaction(conn, cursor, statement, parameters, context, executemany):
        # terminate this very connection's backend just before a write of the step
        if armed["on"] and statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            armed["on"] = False
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            dropped.append(pid)

    actions = steps(scripted_actions)
    for number, action in enumerate(actions):
        armed["on"] = number in (4, len(actions) // 2)
        env.step(action)
    assert len(dropped) == 2  # the fault really happened, twice
    assert (env.state_hash(), env.simulation.episode.step_count) == expected
    # and between steps (an idle pooled connection killed): the next step reconnects
    with admin.connect() as other:
        other.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    env.step('{"name": "get_balance", "arguments": {}}')
    env.close()
    admin.dispose()


def _wait_for_steps(db: Path, at_least: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if db.exists():
            with contextlib.suppress(sqlite3.Error):
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                try:
                    count = conn.execute("select count(*) from steps").fetchone()[0]
                finally:
                    conn.close()
                if count >= at_least:
                    return
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} steps in {db} within 120 s")


def _consistent(db: Path) -> int:
    """The episode's steps are numbered 1..n without a gap and the counter says n."""
    with create_engine(f"sqlite:///{db}").connect() as conn:
        ids = [row[0] for row in conn.execute(text("select id from steps order by id"))]
        count = conn.execute(text("select step_count from episodes where id = 1")).scalar_one()
    assert ids == list(range(1, len(ids) + 1)) and count == len(ids)
    return count


@pytest.mark.slow  # a year run in a subprocess, then its resume to the year's end (~30 s)
def test_a_run_whose_database_stays_locked_ends_in_one_line_and_resumes(tmp_path) -> None:
    db = tmp_path / "run.db"
    run = tycoon_process(
        "run", "--env", "tycoon/VendingYear-v0", "--db", str(db), "--no-progress",
        env={"TYCOON_SQLITE_BUSY_TIMEOUT_MS": "200"},
    )  # fmt: skip
    _wait_for_steps(db, 50, run)
    with write_lock(db):
        _out, err = run.communicate(timeout=120)
    assert run.returncode == 1, err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("tycoon: error:")]
    assert "the database is locked" in line
    assert f"continue with: tycoon run --resume 1 --env tycoon/VendingYear-v0 --db {db}" in line
    done = _consistent(db)
    resumed = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", "run", "--env", "tycoon/VendingYear-v0",
         "--db", str(db), "--resume", "1", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert _consistent(db) > done


@pytest.mark.slow  # a year run in a subprocess, then its resume to the year's end (~30 s)
def test_a_second_process_cannot_run_an_episode_that_a_live_process_runs(tmp_path) -> None:
    db = tmp_path / "shared.db"
    first = tycoon_process(
        "run", "--env", "tycoon/VendingYear-v0", "--db", str(db), "--no-progress"
    )
    try:
        _wait_for_steps(db, 20, first)
        second = subprocess.run(
            [sys.executable, "-m", "tycoon.cli", "run", "--env", "tycoon/VendingYear-v0",
             "--db", str(db), "--resume", "1", "--no-progress"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert "Traceback" not in second.stderr
        assert f"running in another process ({os.uname().nodename}:{first.pid}" in second.stderr
        assert first.poll() is None  # the first run was not disturbed
    finally:
        first.kill()
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    done = _consistent(db)
    # its process is gone: the lease is free, and the episode resumes
    third = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", "run", "--env", "tycoon/VendingYear-v0",
         "--db", str(db), "--resume", "1", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert third.returncode == 0, third.stderr
    assert _consistent(db) > done


def test_the_same_process_may_open_an_episode_twice(tmp_path) -> None:
    store = WorldStore(tmp_path / "twice.db")
    env = gymnasium.make(ENV_ID, store=store).unwrapped
    env.reset(seed=1)
    other = gymnasium.make(ENV_ID, store=store).unwrapped
    other.reset(options={"episode_id": env.episode_id})  # no EpisodeBusy in one process
    other.close()
    env.close()


def test_a_lease_is_refused_while_its_holder_lives_and_taken_over_after(tmp_path) -> None:
    store = WorldStore(tmp_path / "leases.db")
    env = gymnasium.make(ENV_ID, store=store).unwrapped
    env.reset(seed=1)
    episode = env.episode_id
    env.close()  # releases this process's lease
    host = socket.gethostname()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        cases = [
            (f"{host}:{sleeper.pid}", time.time() - 3600, True),  # alive here: busy
            (f"{host}:{_dead_pid()}", time.time(), False),  # gone: free
            ("elsewhere:42", time.time() - 5, True),  # another host, renewed lately: busy
            ("elsewhere:42", time.time() - LEASE_TTL_S - 1, False),  # not renewed: free
        ]
        for owner, renewed_at, busy in cases:
            with store.engine.begin() as conn:
                conn.execute(EpisodeLease.__table__.delete())
                conn.execute(
                    EpisodeLease.__table__.insert().values(
                        episode_id=episode, owner=owner, renewed_at=renewed_at
                    )
                )
            if busy:
                with pytest.raises(EpisodeBusy, match=f"running in another process \\({owner}"):
                    store.claim_episode(episode)
            else:
                store.claim_episode(episode)
                with store.engine.connect() as conn:
                    holder = conn.execute(select(EpisodeLease.owner)).scalar_one()
                assert holder == f"{host}:{os.getpid()}", owner
    finally:
        sleeper.kill()
        sleeper.wait()
    # a lease is not world state: neither a fork nor the hash sees it
    assert "episode_leases" not in {table.name for table in WORLD_TABLES}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


FULL_DISK_MOUNT_SIZE = "2m"


@contextlib.contextmanager
def tiny_disk(tmp_path: Path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK_MOUNT_SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, (
        f"this test needs root to mount a {FULL_DISK_MOUNT_SIZE} tmpfs (CI runs as root): "
        f"{made.stderr.strip()}"
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_ends_the_run_in_one_line_with_the_resume_command(tmp_path) -> None:
    with tiny_disk(tmp_path) as disk:
        db = disk / "full.db"
        result = subprocess.run(
            [sys.executable, "-m", "tycoon.cli", "run", "--env", "tycoon/VendingYear-v0",
             "--db", str(db), "--no-progress"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 1, (result.stdout[-500:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr
        (line,) = [line for line in result.stderr.splitlines() if line.startswith("tycoon:")]
        assert "the disk is full" in line
        assert f"continue with: tycoon run --resume 1 --env tycoon/VendingYear-v0 --db {db}" in line
        _consistent(db)


def test_a_handed_over_lease_frees_the_episode_at_once_and_fences_its_old_holder(
    backend_url, monkeypatch, tmp_path
) -> None:
    """Two "hosts" in one process (the lease names TYCOON_LEASE_HOST): the holder on
    node-a is declared dead and its lease handed over; node-b continues the episode at
    once (no TTL wait), and node-a, still alive (a zombie), cannot commit another step."""
    wait = '{"name": "wait_for_next_day", "arguments": {}}'
    store = WorldStore(backend_url)
    monkeypatch.setenv(LEASE_HOST_ENV, "node-a")
    zombie = gymnasium.make(ENV_ID, store=store).unwrapped
    zombie.reset(seed=SEED)
    zombie.step(wait)
    episode, dead_owner = zombie.episode_id, lease_owner()
    monkeypatch.setenv(LEASE_HOST_ENV, "node-b")
    with pytest.raises(EpisodeBusy, match="node-a"):  # renewed a moment ago: live
        store.claim_episode(episode)
    assert store.hand_over_leases(dead_owner) == [episode]
    assert store.hand_over_leases(dead_owner) == []  # nothing left to hand over
    heir = gymnasium.make(ENV_ID, store=store).unwrapped
    heir.reset(options={"episode_id": episode})  # at once
    heir.step(wait)
    before = (store.state_hash(episode), store.get_episode(episode).step_count)
    monkeypatch.setenv(LEASE_HOST_ENV, "node-a")
    with pytest.raises(LeaseLost, match="node-b"):
        zombie.step('{"name": "get_balance", "arguments": {}}')
    assert (store.state_hash(episode), store.get_episode(episode).step_count) == before
    zombie.close()  # releases nothing of node-b's
    monkeypatch.setenv(LEASE_HOST_ENV, "node-b")
    for _ in range(3):
        heir.step(wait)
    final = heir.state_hash()
    heir.close()
    store.dispose()
    solo = gymnasium.make(ENV_ID, db=str(tmp_path / "solo.db")).unwrapped
    solo.reset(seed=SEED)
    for _ in range(5):  # the zombie's refused step is no step
        solo.step(wait)
    assert final == solo.state_hash()
    solo.close()
