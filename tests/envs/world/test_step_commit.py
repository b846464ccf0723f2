"""A step's commit on a held SQLite connection goes to the driver: pysqlite ends the
step's transaction, SQLAlchemy's stays open (no begin() and commit() per step). It must
give what SQLAlchemy's commit gave: the same state and step rows after every step, each
step committed (seen by another connection) when it returns, and a listener of
SQLAlchemy's commit event still sees every commit. The lease fence names the owner the
simulation claimed the lease as."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import gymnasium
import pytest
from sqlalchemy import event

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import LEASE_HOST_ENV, LeaseLost

ENV_ID = "tycoon/VendingClassic-v0"
SEED = 3
GET_BALANCE = '{"name": "get_balance", "arguments": {}}'

# refused, malformed and outsized actions between the economy's own: each is a step with
# a row of its own and changes nothing else
HOSTILE = [
    "not json at all",
    '{"name": "no_such_tool", "arguments": {}}',
    '{"name": "set_price", "arguments": {"sku": "nothing-here", "price": -3}}',
    '{"name": "send_payment", "arguments": {"to_account": "x", "amount": 1e300, "memo": ""}}',
    json.dumps(
        {"name": "write_file", "arguments": {"path": "big.md", "content": "\u00e9" * 70_000}}
    ),
    json.dumps({"name": "kv_set", "arguments": {"key": "k\x00", "value": "\ud800"}}),
    '{"name": "stock_machine", "arguments": {"sku": "cola", "quantity": 10**9}}',
]


def actions(scripted: list[str]) -> list[str]:
    mixed: list[str] = []
    for number, action in enumerate(scripted):
        mixed.append(action)
        mixed.append(HOSTILE[number % len(HOSTILE)])
    return mixed


def run(path: Path, steps: list[str], *, listen_commits: bool) -> dict:
    """Every step's hash and committed step count (seen from another connection), the
    stored step rows, and how often SQLAlchemy began and committed during the steps."""
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=SEED)
    engine = env.store.engine
    stepping = False  # (the hashes' own connections begin too: not counted)
    begins: list[object] = []
    commits: list[object] = []
    event.listen(engine, "begin", lambda connection: stepping and begins.append(connection))
    if listen_commits:
        event.listen(engine, "commit", lambda connection: stepping and commits.append(connection))
    other = sqlite3.connect(path)
    hashes, committed = [], []
    for action in steps:
        stepping = True
        env.step(action)
        stepping = False
        hashes.append(env.state_hash())
        committed.append(
            other.execute(
                "SELECT step_count FROM episodes WHERE id = ?", (env.episode_id,)
            ).fetchone()[0]
        )
    rows = other.execute(
        "SELECT * FROM steps WHERE episode_id = ? ORDER BY id", (env.episode_id,)
    ).fetchall()
    names = [column[0] for column in other.execute("SELECT * FROM steps LIMIT 0").description]
    other.close()
    env.close()
    env.store.dispose()
    elapsed = names.index("elapsed_us")  # the one column that measures, not records
    return {
        "hashes": hashes,
        "committed": committed,
        "rows": [row[:elapsed] + row[elapsed + 1 :] for row in rows],
        "begins": len(begins),
        "commits": len(commits),
    }


def test_a_steps_driver_commit_gives_what_sqlalchemys_commit_gave(
    tmp_path, scripted_actions
) -> None:
    steps = actions(scripted_actions(ENV_ID, SEED))
    on_driver = run(tmp_path / "driver.db", steps, listen_commits=False)
    through_sqlalchemy = run(tmp_path / "sqlalchemy.db", steps, listen_commits=True)
    # every step committed when it returned, in both
    assert on_driver["committed"] == list(range(1, len(steps) + 1))
    assert through_sqlalchemy["committed"] == on_driver["committed"]
    assert on_driver["hashes"] == through_sqlalchemy["hashes"]
    assert len(set(on_driver["hashes"])) > 10  # (the economy moved)
    assert on_driver["rows"] == through_sqlalchemy["rows"]
    assert len(on_driver["rows"]) == len(steps)
    # the driver ended each step's transaction: SQLAlchemy began none of them...
    assert on_driver["begins"] == 0
    # ...while a commit listener keeps SQLAlchemy's commit, and sees every step's
    assert through_sqlalchemy["commits"] == len(steps)
    # (the first step's transaction may have been begun by the reset)
    assert through_sqlalchemy["begins"] >= len(steps) - 1


def test_a_step_refused_after_driver_commits_rolls_back_and_the_next_commits(
    tmp_path,
) -> None:
    """A step that fails after earlier steps committed on the driver rolls back alone;
    the steps after it commit again (SQLAlchemy's transaction is ended and begun anew)."""
    path = tmp_path / "world.db"
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=SEED)
    for _ in range(3):
        env.step(GET_BALANCE)
    before = env.state_hash()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    lease = "SELECT owner FROM episode_leases WHERE episode_id = ?"
    owner = other.execute(lease, (env.episode_id,)).fetchone()[0]
    other.execute(
        "UPDATE episode_leases SET owner = 'elsewhere:1' WHERE episode_id = ?", (env.episode_id,)
    )
    with pytest.raises(LeaseLost, match="elsewhere:1"):
        env.step('{"name": "wait_for_next_day", "arguments": {}}')
    assert env.state_hash() == before
    assert env.store.get_episode(env.episode_id).step_count == 3
    other.execute(
        "UPDATE episode_leases SET owner = ? WHERE episode_id = ?",
        (owner, env.episode_id),
    )
    env.step('{"name": "wait_for_next_day", "arguments": {}}')
    assert other.execute("SELECT max(id) FROM steps").fetchone()[0] == 4
    assert env.state_hash() != before
    other.close()
    env.close()


def test_the_fence_names_the_owner_the_simulation_claimed_the_lease_as(
    tmp_path, monkeypatch
) -> None:
    path = tmp_path / "world.db"
    monkeypatch.setenv(LEASE_HOST_ENV, "node-a")
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=SEED)
    other = sqlite3.connect(path)
    lease = "SELECT owner FROM episode_leases WHERE episode_id = ?"
    claimed = other.execute(lease, (env.episode_id,)).fetchone()[0]
    assert claimed == f"node-a:{os.getpid()}"
    # the process's name changes after the claim: the simulation still holds its lease
    monkeypatch.setenv(LEASE_HOST_ENV, "node-b")
    env.step(GET_BALANCE)
    assert env.store.get_episode(env.episode_id).step_count == 1
    assert other.execute(lease, (env.episode_id,)).fetchone()[0] == claimed
    # another process with the simulation (a fork: another pid) is not the claimer
    pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: pid + 1)
    with pytest.raises(LeaseLost, match=claimed):
        env.step(GET_BALANCE)
    monkeypatch.setattr(os, "getpid", lambda: pid)
    assert env.store.get_episode(env.episode_id).step_count == 1
    env.step(GET_BALANCE)  # the claimer again
    assert env.store.get_episode(env.episode_id).step_count == 2
    other.close()
    env.close()


def test_episodes_in_two_databases_share_one_compiled_step_writer(tmp_path: Path) -> None:
    """The step writer's statements are compiled once per driver, not per episode: a
    second database's episode commits with the writer the first compiled, and its rows
    and hashes are the first's (same seed, same actions)."""
    from tycoon.envs.vending import simulation

    steps = actions([GET_BALANCE] * 6)
    first = run(tmp_path / "first.db", steps, listen_commits=False)
    compiled = dict(simulation._STEP_WRITERS)
    second = run(tmp_path / "second.db", steps, listen_commits=False)
    assert compiled and compiled == simulation._STEP_WRITERS  # the same writer objects
    assert first["rows"] == second["rows"] and first["hashes"] == second["hashes"]
