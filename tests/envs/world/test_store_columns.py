"""A database made by an older tycoon gets the nullable columns added since."""

from __future__ import annotations

import gymnasium
from sqlalchemy import inspect

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import WorldStore

NEW_COLUMNS = {
    "episodes": ["run_spec", "reset_observation", "reset_info"],
    "steps": ["info"],
}


def test_opening_an_older_database_adds_the_missing_columns_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.db"
    store = WorldStore(db)
    env = gymnasium.make("tycoon/VendingClassic-v0", store=store)
    env.reset(seed=2)
    env.step('{"name": "get_balance", "arguments": {}}')
    before = store.state_hash(1)
    env.close()
    with store.engine.begin() as conn:  # as an older tycoon made it
        for table, columns in NEW_COLUMNS.items():
            for column in columns:
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    store.dispose()

    reopened = WorldStore(db)
    inspector = inspect(reopened.engine)
    for table, columns in NEW_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        assert set(columns) <= present
    assert reopened.state_hash(1) == before
    assert reopened.get_episode(1).run_spec is None
    assert reopened.get_episode(1).step_count == 1
