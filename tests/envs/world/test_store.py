"""WorldStore: fork, delete, state hash, connection errors and SQLite tuning."""

from __future__ import annotations

import gymnasium
import pytest
from sqlalchemy import event, select, text, update

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.schema import WORLD_TABLES, Email, Episode, MachineSlot
from tycoon.envs.world.store import StoreError, WorldStore, database_url

SEED = 11


@pytest.fixture
def played(backend_url, scripted_actions):
    """A store holding one Year episode that has traded for a few days (rows in most tables)."""
    env_id = "tycoon/VendingYear-v0"
    env = gymnasium.make(env_id, db=backend_url).unwrapped
    env.reset(seed=SEED)
    for action in scripted_actions(env_id, SEED):
        env.step(action)
    yield env.store, env.episode_id
    env.close()
    env.store.dispose()


def test_fork_copies_every_table(played):
    store, source = played
    counts = store.count_rows(source)
    assert set(counts) == {table.name for table in WORLD_TABLES}
    busy = {name for name, n in counts.items() if n}
    assert busy >= {
        "products",
        "suppliers",
        "supplier_offers",
        "orders",
        "order_lines",
        "inventory",
        "machine_slots",
        "prices",
        "ledger",
        "emails",
        "files",
        "memory",
        "sales",
        "steps",
    }, counts

    copy = store.fork(source)
    assert copy != source
    assert store.count_rows(copy) == counts
    assert store.state_hash(copy) == store.state_hash(source)
    episode, original = store.get_episode(copy), store.get_episode(source)
    assert episode.parent_episode_id == source
    assert episode.forked_at_step == original.step_count
    assert (episode.seed, episode.day, episode.minute, episode.config) == (
        original.seed,
        original.day,
        original.minute,
        original.config,
    )
    # the copy's rows are its own: same local ids, new episode id
    for table in WORLD_TABLES:
        assert local_ids(store, table, copy) == local_ids(store, table, source), table.name


def local_ids(store: WorldStore, table, episode_id: int) -> list[int]:
    with store.engine.connect() as conn:
        return sorted(
            conn.execute(select(table.c.id).where(table.c.episode_id == episode_id)).scalars()
        )


def test_fork_with_a_new_seed_branches(played):
    store, source = played
    copy = store.fork(source, seed=12345)
    assert store.get_episode(copy).seed == 12345
    assert store.count_rows(copy) == store.count_rows(source)
    assert store.state_hash(copy) != store.state_hash(source)  # the seed is state


def test_changing_the_fork_leaves_the_source_alone(played):
    store, source = played
    before = store.state_hash(source)
    copy = store.fork(source)
    with store.engine.begin() as conn:
        conn.execute(
            update(MachineSlot).where(MachineSlot.episode_id == copy).values(quantity=0, sku=None)
        )
    assert store.state_hash(copy) != before
    assert store.state_hash(source) == before


def test_delete_episode_removes_every_row(played):
    store, source = played
    copy = store.fork(source)
    counts = store.count_rows(source)
    store.delete_episode(copy)
    assert all(n == 0 for n in store.count_rows(copy).values())
    with pytest.raises(StoreError, match=str(copy)):
        store.get_episode(copy)
    assert copy not in [e.id for e in store.list_episodes()]
    assert store.count_rows(source) == counts  # nothing else went


def test_state_hash_ignores_row_order_and_episode_id(played):
    store, source = played
    reference = store.state_hash(source)
    # copy the episode by hand, inserting every table's rows in reverse order
    with store.engine.begin() as conn:
        row = dict(
            conn.execute(select(Episode.__table__).where(Episode.id == source)).mappings().one()
        )
        row.pop("id")
        new_id = conn.execute(Episode.__table__.insert().values(**row)).inserted_primary_key[0]
        for table in WORLD_TABLES:
            rows = (
                conn.execute(
                    select(table).where(table.c.episode_id == source).order_by(table.c.id.desc())
                )
                .mappings()
                .all()
            )
            for r in rows:
                conn.execute(table.insert().values({**r, "episode_id": new_id}))
    assert new_id != source
    assert store.state_hash(new_id) == reference


def test_state_hash_sees_every_change(played):
    store, source = played
    reference = store.state_hash(source)
    copy = store.fork(source)
    with store.engine.begin() as conn:
        conn.execute(
            update(Email).where(Email.episode_id == copy, Email.id == 1).values(body="tampered")
        )
    assert store.state_hash(copy) != reference
    copy2 = store.fork(source)
    with store.engine.begin() as conn:
        conn.execute(update(Episode).where(Episode.id == copy2).values(minute=Episode.minute + 1))
    assert store.state_hash(copy2) != reference


def test_state_hash_ignores_the_trajectory(played):
    store, source = played
    reference = store.state_hash(source)
    copy = store.fork(source)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM steps WHERE episode_id = :e"), {"e": copy})
    assert store.state_hash(copy) == reference


def test_unknown_episodes_are_store_errors(tmp_path):
    store = WorldStore(tmp_path / "world.db")
    for call in (store.fork, store.state_hash, store.get_episode):
        with pytest.raises(StoreError, match="Expected an existing episode id"):
            call(999)


def test_unreachable_postgres_is_a_clear_store_error():
    url = "postgresql+psycopg://tycoon:sekret@127.0.0.1:1/tycoon_test"
    with pytest.raises(StoreError) as caught:
        WorldStore(url)
    message = str(caught.value)
    assert "Cannot open the world database" in message
    assert "127.0.0.1:1" in message
    assert "sekret" not in message  # the password is never shown


@pytest.mark.parametrize(
    "url",
    [
        "nosuchdialect://user@host/db",
        "postgresql+nosuchdriver://user@127.0.0.1:1/db",
        "sqlite:////proc/definitely/not/writable/world.db",
    ],
)
def test_bad_urls_are_store_errors(url):
    with pytest.raises(StoreError, match="Cannot open the world database"):
        WorldStore(url)


def test_sqlite_file_is_tuned(tmp_path):
    store = WorldStore(tmp_path / "sub" / "world.db")
    assert (tmp_path / "sub" / "world.db").exists()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one().lower() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    assert (tmp_path / "sub" / "world.db-wal").exists()


def test_database_url_accepts_paths_and_urls(tmp_path):
    assert database_url(tmp_path / "a.db") == f"sqlite:///{tmp_path / 'a.db'}"
    assert database_url(":memory:") == "sqlite://"
    assert database_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_two_stores_on_one_file_see_each_others_commits(tmp_path):
    path = tmp_path / "world.db"
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(path)).unwrapped
    env.reset(seed=SEED)
    env.step({"name": "kv_set", "arguments": {"key": "a", "value": "b"}})
    other = WorldStore(path)
    assert other.count_rows(env.episode_id)["memory"] == 1
    assert other.state_hash(env.episode_id) == env.state_hash()
    env.close()


def test_state_hash_ignores_the_order_sqlite_returns_rows_in(tmp_path, scripted_actions):
    """SQLite hands back an episode's rows in key order however they were inserted, so
    the reverse-order copy above cannot catch a hash that depends on row order there.
    `PRAGMA reverse_unordered_selects` makes SQLite return unordered selects reversed."""
    env = gymnasium.make("tycoon/VendingYear-v0", db=str(tmp_path / "w.db")).unwrapped
    env.reset(seed=SEED)
    for action in scripted_actions("tycoon/VendingYear-v0", SEED):
        env.step(action)
    store, episode_id = env.store, env.episode_id
    env.close()
    reference = store.state_hash(episode_id)
    ledger = WORLD_TABLES[[t.name for t in WORLD_TABLES].index("ledger")]

    def ledger_ids() -> list[int]:
        with store.engine.connect() as conn:
            query = select(ledger.c.id).where(ledger.c.episode_id == episode_id)
            return list(conn.scalars(query))

    forward = ledger_ids()
    assert len(forward) > 10

    @event.listens_for(store.engine, "connect")
    def _reverse(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA reverse_unordered_selects = ON")

    store.engine.dispose()  # new connections get the pragma
    assert ledger_ids() == forward[::-1]  # the rows really come back in another order
    assert store.state_hash(episode_id) == reference
    store.dispose()
