"""On SQLite a committed step's lease fence rides on the episode counters' UPDATE
(`LEASE_NEEDS_NO_STATEMENT`): no statement of its own while the lease is fresh, the lease's
UPDATE only when it is due or lost, and every refusal as before (nothing of the step
written)."""

from __future__ import annotations

import sqlite3
import time

import gymnasium
import pytest
from sqlalchemy import event

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import LEASE_RENEW_EVERY_S, LeaseLost

ENV_ID = "tycoon/VendingClassic-v0"
GET_BALANCE = '{"name": "get_balance", "arguments": {}}'
STOCK = '{"name": "stock_machine", "arguments": {"sku": "%s", "quantity": 1}}'
NEXT_DAY = '{"name": "wait_for_next_day", "arguments": {}}'
LEASE = "SELECT owner, renewed_at FROM episode_leases WHERE episode_id = ?"


def statements_of_each_step(env, actions: list[str]) -> list[list[str]]:
    """The statements each step ran, in order (a listener sees the driver's too)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.split("(")[0].split(" SET ")[0].strip())

    event.listen(env.store.engine, "before_cursor_execute", note)
    steps = []
    try:
        for action in actions:
            seen.clear()
            env.step(action)
            steps.append(list(seen))
    finally:
        event.remove(env.store.engine, "before_cursor_execute", note)
    return steps


def test_a_fresh_lease_costs_no_statement_and_the_counters_are_the_first_write(tmp_path):
    env = gymnasium.make(ENV_ID, db=str(tmp_path / "world.db")).unwrapped
    env.reset(seed=3)
    sku = next(iter(env.simulation.world.products))
    steps = statements_of_each_step(env, [GET_BALANCE, STOCK % sku, NEXT_DAY, GET_BALANCE])
    for statements in steps:
        assert not any("episode_leases" in statement for statement in statements)
        assert statements[0] == "UPDATE episodes"  # the fence, before any other write
        assert statements.count("UPDATE episodes") == 1
        assert statements.count("INSERT INTO steps") == 1
    # the counters written are the episode's, as the ORM reads them back
    stored = env.store.get_episode(env.episode_id)
    episode = env.simulation.world.episode
    assert (stored.step_count, stored.day, stored.minute, stored.status) == (
        4,
        episode.day,
        episode.minute,
        episode.status,
    )
    env.close()


def test_a_due_lease_is_renewed_and_a_lost_one_refused_with_nothing_written(tmp_path):
    path = tmp_path / "world.db"
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=3)
    env.step(GET_BALANCE)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    owner, _ = other.execute(LEASE, (env.episode_id,)).fetchone()
    aged = time.time() - LEASE_RENEW_EVERY_S - 1
    other.execute("UPDATE episode_leases SET renewed_at = ?", (aged,))
    before = time.time()
    [statements] = statements_of_each_step(env, [GET_BALANCE])
    held_by, renewed_at = other.execute(LEASE, (env.episode_id,)).fetchone()
    assert held_by == owner
    assert renewed_at >= before  # renewed with the step
    assert "UPDATE episode_leases" in statements  # due: the lease's own UPDATE ran
    assert env.store.get_episode(env.episode_id).step_count == 2

    # handed over, and the new holder stepped on: the old holder's next step would
    # collide with its rows, and is refused as a lost lease before it writes any
    other.execute(
        "UPDATE episode_leases SET owner = 'handed over from x:1' WHERE episode_id = ?",
        (env.episode_id,),
    )
    columns = [row[1] for row in other.execute("PRAGMA table_info(steps)")]
    copied = ", ".join("3" if name == "id" else name for name in columns)
    other.execute(f"INSERT INTO steps SELECT {copied} FROM steps WHERE id = 2")  # its step 3
    hash_before = env.state_hash()
    with pytest.raises(LeaseLost, match="handed over from x:1"):
        env.step(GET_BALANCE)
    assert env.state_hash() == hash_before
    assert env.store.get_episode(env.episode_id).step_count == 2
    other.close()
    env.simulation.abandon()
    env.store.dispose()


def test_an_episode_with_no_lease_row_steps_on_unfenced(tmp_path):
    path = tmp_path / "world.db"
    env = gymnasium.make(ENV_ID, db=str(path)).unwrapped
    env.reset(seed=3)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("DELETE FROM episode_leases WHERE episode_id = ?", (env.episode_id,))
    env.step(GET_BALANCE)
    env.step(GET_BALANCE)
    assert env.store.get_episode(env.episode_id).step_count == 2
    assert other.execute("SELECT count(*) FROM steps").fetchone()[0] == 2
    other.close()
    env.close()
