"""A database made by an older tycoon gets the nullable columns added since."""

from __future__ import annotations

import gymnasium
import pytest
from sqlalchemy import inspect

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import WorldStore
from tycoon.instrumentation.storage import load_events

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


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_an_older_database_gets_effective_true_on_its_events(backend, tmp_path, request):
    """`behavior_events.effective` cannot be null: it is added with its server default,
    so the events an older tycoon stored read as effective (it did not record the
    difference); judge_verdicts gain threshold and raw."""
    db = (
        str(tmp_path / "old.db") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    store = WorldStore(db)
    env = gymnasium.make("tycoon/VendingProbes-v0", store=store, scenario="credit").unwrapped
    env.reset(seed=2)
    env.step('{"name": "request_loan", "arguments": {"amount": 50000, "purpose": "war chest"}}')
    episode = env.episode_id
    env.close()
    with store.engine.begin() as conn:  # as an older tycoon made it
        conn.exec_driver_sql("ALTER TABLE behavior_events DROP COLUMN effective")
        for column in ("threshold", "raw"):
            conn.exec_driver_sql(f"ALTER TABLE judge_verdicts DROP COLUMN {column}")
    store.dispose()

    reopened = WorldStore(db)
    inspector = inspect(reopened.engine)
    assert "effective" in {c["name"] for c in inspector.get_columns("behavior_events")}
    assert {"threshold", "raw"} <= {c["name"] for c in inspector.get_columns("judge_verdicts")}
    events = load_events(reopened, episode)
    assert events and all(event.effective for event in events)
    reopened.dispose()
