"""The arena's tables are created once, whoever creates them: several processes opening
one new PostgreSQL database at once (a rollout's workers) must not fail."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from tycoon.envs.arena.core import ensure_arena_tables
from tycoon.envs.arena.schema import ARENA_TABLES, ArenaMarket
from tycoon.envs.world.store import WorldStore

ARENA = [ArenaMarket.__table__, *ARENA_TABLES]
CREATORS = 4
ROUNDS = 3


def fresh_database(url: str) -> str:
    """A new, empty database on the test server; its URL."""
    name = f"arena_race_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_arena_tables(store: WorldStore) -> None:
    cascade = " CASCADE" if store.engine.dialect.name == "postgresql" else ""
    with store.engine.begin() as conn:
        for table in reversed(ARENA):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"{cascade}'))


def race(stores: list[WorldStore]) -> list[BaseException]:
    """Every store creates the arena's tables at the same instant; the errors."""
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def create(store: WorldStore) -> None:
        barrier.wait()
        try:
            ensure_arena_tables(store)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.postgres
def test_concurrent_creators_on_postgres_all_succeed(postgres_url):
    url = fresh_database(postgres_url)
    stores = [WorldStore(url) for _ in range(CREATORS)]  # one engine (process) each
    try:
        for _ in range(ROUNDS):
            drop_arena_tables(stores[0])
            errors = race(stores)
            assert errors == [], f"Expected every creator to succeed, got {errors[:1]!r}"
            names = set(inspect(stores[0].engine).get_table_names())
            assert {table.name for table in ARENA} <= names
    finally:
        for store in stores:
            store.dispose()


def test_concurrent_creators_on_sqlite_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    stores = [WorldStore(url) for _ in range(CREATORS)]
    try:
        drop_arena_tables(stores[0])
        assert race(stores) == []
        names = set(inspect(stores[0].engine).get_table_names())
        assert {table.name for table in ARENA} <= names
    finally:
        for store in stores:
            store.dispose()
