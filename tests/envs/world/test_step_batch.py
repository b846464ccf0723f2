"""PostgreSQL in one round trip per step: a step's writes, its lease fence and its COMMIT go
out in one psycopg pipeline (`step_batch`), with no liveness ping per checkout. Round
trips are counted from libpq's protocol trace (`RoundTripCounter`: one ReadyForQuery per
exchange the client waits for)."""

from __future__ import annotations

import json

import gymnasium
import pytest
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world import driver_sql
from tycoon.envs.world import store as store_module
from tycoon.envs.world.driver_sql import DriverStatement, step_batch
from tycoon.envs.world.round_trips import RoundTripCounter
from tycoon.envs.world.schema import EpisodeLease
from tycoon.envs.world.store import WorldStore

pytestmark = pytest.mark.postgres
LEASES = EpisodeLease.__table__


def action(tool: str, **arguments) -> str:
    return json.dumps({"name": tool, "arguments": arguments})


def test_the_counter_sees_each_exchange_the_client_waits_for(postgres_url) -> None:
    store = WorldStore(postgres_url)
    counter = RoundTripCounter(store.engine)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # BEGIN, then the SELECT: two round trips
        conn.commit()  # and the COMMIT
    assert counter.take() == 3
    assert counter.take() == 0
    counter.close()
    store.dispose()


def test_cheap_steps_take_one_round_trip_and_a_night_few(postgres_url) -> None:
    store = WorldStore(postgres_url)
    env = gymnasium.make("tycoon/VendingYear-v0", store=store).unwrapped
    env.reset(seed=5)
    product = next(iter(env.simulation.world.products.values()))
    counter = RoundTripCounter(store.engine)
    trips = {}
    for label, step in (
        ("get_balance", action("get_balance")),
        # the first price of a product is a new row, written through the ORM for now
        ("first set_price", action("set_price", sku=product.sku, price=2.5)),
        ("set_price", action("set_price", sku=product.sku, price=2.75)),
        ("refused", action("set_price", sku="no-such-sku", price=2.5)),
        ("night", action("wait_for_next_day")),
        ("get_balance after a night", action("get_balance")),
    ):
        counter.take()
        _, _, _, _, info = env.step(step)
        trips[label] = counter.take()
        assert info["invalid_action"] is (label == "refused"), label
    # BEGIN, the lease fence, the step row, the counters and COMMIT: one pipeline
    assert trips["get_balance"] == trips["set_price"] == trips["refused"] == 1, trips
    assert trips["get_balance after a night"] == 1, trips
    # statements not held back (the ORM's, the night's reads) cost one each; the held
    # ones go with the COMMIT
    assert trips["first set_price"] <= 4, trips
    assert trips["night"] <= 4, trips
    counter.close()
    env.close()
    store.dispose()


def test_a_batch_is_one_round_trip_and_all_or_nothing(postgres_url) -> None:
    store = WorldStore(postgres_url)
    counter = RoundTripCounter(store.engine)
    add = DriverStatement(insert(LEASES), store.engine.dialect)

    def lease(episode: int) -> dict:
        return {"episode_id": episode, "owner": "batch-test", "renewed_at": 1.0}

    def saved(*episodes: int) -> int:
        with store.engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(LEASES.c.episode_id.in_(episodes))
            ).scalar_one()

    with store.engine.connect() as conn:
        counter.take()
        with step_batch(conn):
            add.run(conn, lease(990_001))
            add.run(conn, [lease(990_002), lease(990_003)])
            assert counter.take() == 0  # held back so far
            conn.commit()
        assert counter.take() == 1  # three rows in one implicit transaction, one Sync
    assert saved(990_001, 990_002, 990_003) == 3
    with store.engine.connect() as conn:
        with step_batch(conn):
            add.run(conn, lease(990_004))
            add.run(conn, lease(990_001))  # a key taken: refused by the server
            with pytest.raises(DBAPIError, match="duplicate key"):
                conn.commit()
        conn.rollback()
    assert saved(990_004) == 0  # the first insert went with the refused one
    with store.engine.begin() as conn:
        conn.execute(LEASES.delete().where(LEASES.c.owner == "batch-test"))
    counter.close()
    store.dispose()


def test_a_statement_outside_the_batch_runs_after_what_was_held(postgres_url) -> None:
    store = WorldStore(postgres_url)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    with store.engine.connect() as conn, step_batch(conn):
        add.run(conn, {"episode_id": 990_002, "owner": "order-test", "renewed_at": 1.0})
        seen = conn.execute(select(LEASES.c.owner).where(LEASES.c.episode_id == 990_002))
        assert seen.scalar() == "order-test"  # sent before the SELECT, same transaction
        conn.commit()
    with store.engine.connect() as conn:
        assert conn.execute(select(LEASES.c.owner).where(LEASES.c.episode_id == 990_002)).scalar()
        conn.execute(LEASES.delete().where(LEASES.c.episode_id == 990_002))
        conn.commit()
    store.dispose()


def test_a_pooled_connection_idle_for_long_is_pinged_before_use(postgres_url, monkeypatch) -> None:
    store = WorldStore(postgres_url)
    env = gymnasium.make("tycoon/VendingClassic-v0", store=store).unwrapped
    env.reset(seed=3)
    env.step(action("get_balance"))
    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_S", 0.0)
    admin = create_engine(postgres_url, poolclass=None)
    with admin.connect() as other:  # every pooled connection dies while idle
        other.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    # no step is retried: the ping finds the dead connection and the pool makes a new one
    assert store.get_episode(env.episode_id).step_count == 1
    env.close()
    admin.dispose()
    store.dispose()


def prepared_here(conn) -> list[str]:
    """The statements prepared in this connection's server session."""
    return sorted(conn.exec_driver_sql("SELECT name FROM pg_prepared_statements").scalars())


def test_each_statement_is_prepared_once_per_connection_and_outlives_a_rollback(
    postgres_url,
) -> None:
    store = WorldStore(postgres_url)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    with store.engine.connect() as conn:
        for episode in (990_011, 990_012):
            with step_batch(conn):
                add.run(conn, {"episode_id": episode, "owner": "prep-test", "renewed_at": 1.0})
                conn.commit()
        names = prepared_here(conn)
        # the server parsed and planned the insert once; psycopg prepares nothing itself
        assert len(names) == 1 and names[0].startswith("_tycoon_"), names
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_011, "owner": "prep-test", "renewed_at": 1.0})
            with pytest.raises(DBAPIError, match="duplicate key"):
                conn.commit()
        conn.rollback()
        assert prepared_here(conn) == names  # (psycopg would deallocate its own here)
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_013, "owner": "prep-test", "renewed_at": 1.0})
            conn.commit()
        assert prepared_here(conn) == names
        conn.execute(LEASES.delete().where(LEASES.c.owner == "prep-test"))
        conn.commit()
    store.dispose()


def test_a_batch_after_its_statements_were_deallocated_prepares_them_again(postgres_url) -> None:
    store = WorldStore(postgres_url)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    with store.engine.connect() as conn:
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_021, "owner": "dealloc-test", "renewed_at": 1.0})
            conn.commit()
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
        assert prepared_here(conn) == []
        conn.commit()  # a step's batch begins from an idle connection
        with step_batch(conn):  # refused for want of its statement, then sent again
            add.run(conn, {"episode_id": 990_022, "owner": "dealloc-test", "renewed_at": 1.0})
            conn.commit()
        assert len(prepared_here(conn)) == 1
        owners = select(func.count()).where(LEASES.c.owner == "dealloc-test")
        assert conn.execute(owners).scalar_one() == 2  # each row once
        conn.execute(LEASES.delete().where(LEASES.c.owner == "dealloc-test"))
        conn.commit()
    store.dispose()


def test_values_reach_the_server_as_psycopg_adapts_them(postgres_url) -> None:
    store = WorldStore(postgres_url)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    rows = [
        # ints of different widths (psycopg would type them int2 and int4; all go as
        # int8), an int into a float column, text beyond ASCII, quotes and placeholders
        {"episode_id": 990_031, "owner": "adapt-test naïve 🚀", "renewed_at": 7},
        {"episode_id": 99, "owner": "adapt-test 'quoted' %s $1", "renewed_at": 2.5e-7},
        {"episode_id": 990_033, "owner": "adapt-test", "renewed_at": 1.7976931348623157e308},
    ]
    with store.engine.connect() as conn:
        with step_batch(conn):
            add.run(conn, rows)
            conn.commit()
        saved = conn.execute(
            select(LEASES.c.episode_id, LEASES.c.owner, LEASES.c.renewed_at)
            .where(LEASES.c.owner.like("adapt-test%"))
            .order_by(LEASES.c.owner)
        ).all()
        expected = sorted((r["episode_id"], r["owner"], r["renewed_at"]) for r in rows)
        assert sorted(tuple(row) for row in saved) == expected
        # one statement for an int renewed_at, one for a float one; not one per width of
        # int (99 and 990_033 would be int2 and int4)
        assert len(prepared_here(conn)) == 2
        conn.execute(LEASES.delete().where(LEASES.c.owner.like("adapt-test%")))
        conn.commit()
    store.dispose()


def test_past_the_limit_of_prepared_statements_a_batch_runs_unnamed(
    postgres_url, monkeypatch
) -> None:
    monkeypatch.setattr(driver_sql, "MAX_PREPARED", 0)
    store = WorldStore(postgres_url)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    with store.engine.connect() as conn:
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_041, "owner": "unnamed-test", "renewed_at": 1.0})
            conn.commit()
        assert prepared_here(conn) == []
        owners = select(func.count()).where(LEASES.c.owner == "unnamed-test")
        assert conn.execute(owners).scalar_one() == 1
        conn.execute(LEASES.delete().where(LEASES.c.owner == "unnamed-test"))
        conn.commit()
    store.dispose()


def test_a_listener_sees_each_held_statement_once_and_none_is_told_when_none_listens(
    postgres_url,
) -> None:
    store = WorldStore(postgres_url)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    with store.engine.connect() as conn:
        # only the batches' own listener: the pipeline tells no one (and opens no cursor)
        assert not driver_sql._others_listen(conn)
        seen: list[tuple[str, object]] = []

        def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
            seen.append((statement, parameters))

        event.listen(store.engine, "before_cursor_execute", record)
        assert driver_sql._others_listen(conn)
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_007, "owner": "a", "renewed_at": 1.0})
            add.run(conn, {"episode_id": 990_008, "owner": "b", "renewed_at": 2.0})
            assert seen == []  # held back, not sent yet
            conn.commit()
        event.remove(store.engine, "before_cursor_execute", record)
        assert [statement for statement, _ in seen] == [add.sql, add.sql]
        assert [parameters["owner"] for _, parameters in seen] == ["a", "b"]
        assert not driver_sql._others_listen(conn)
    with store.engine.connect() as conn:
        ours = LEASES.c.episode_id.in_([990_007, 990_008])
        owners = conn.execute(select(LEASES.c.owner).where(ours).order_by(LEASES.c.episode_id))
        assert list(owners.scalars()) == ["a", "b"]
        conn.execute(LEASES.delete().where(ours))
        conn.commit()
    store.dispose()


def test_inside_a_batch_the_driver_commits_the_step_in_its_one_round_trip(postgres_url) -> None:
    # the step's commit skips SQLAlchemy's commit (and its next begin): the held statements
    # and the commit go in one pipeline, and SQLAlchemy's transaction stays open over the
    # idle connection, as on SQLite (`commit_driver`)
    store = WorldStore(postgres_url)
    counter = RoundTripCounter(store.engine)
    add = DriverStatement(insert(LEASES), store.engine.dialect)
    ours = LEASES.c.episode_id.in_([990_011, 990_012, 990_013])

    def saved() -> list[str]:
        with store.engine.connect() as other:
            owners = other.execute(select(LEASES.c.owner).where(ours).order_by(LEASES.c.owner))
            return list(owners.scalars())

    with store.engine.connect() as conn:
        assert not driver_sql.commits_on_driver(conn)  # outside a batch: SQLAlchemy commits
        driver = conn.connection.driver_connection
        for episode, owner in ((990_011, "first"), (990_012, "second")):
            counter.take()
            with step_batch(conn):
                assert driver_sql.commits_on_driver(conn)
                add.run(conn, {"episode_id": episode, "owner": owner, "renewed_at": 1.0})
                driver_sql.commit_driver(conn)
            assert counter.take() == 1  # no BEGIN of its own: one pipeline, one Sync
            assert driver.info.transaction_status.name == "IDLE"  # committed
            assert conn.in_transaction()  # SQLAlchemy's stays open, as on SQLite
        assert saved() == ["first", "second"]
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_013, "owner": "third", "renewed_at": 1.0})
            add.run(conn, {"episode_id": 990_011, "owner": "again", "renewed_at": 1.0})
            with pytest.raises(DBAPIError, match="duplicate key"):
                driver_sql.commit_driver(conn)
        conn.rollback()  # as the simulation ends a failed step
        assert saved() == ["first", "second"]  # nothing of the refused step
        # the connection goes on: a statement run through SQLAlchemy, then a batch
        assert conn.execute(select(func.count()).where(ours)).scalar_one() == 2
        with step_batch(conn):
            add.run(conn, {"episode_id": 990_013, "owner": "third", "renewed_at": 1.0})
            driver_sql.commit_driver(conn)
        assert saved() == ["first", "second", "third"]

        def told(_conn) -> None:
            pass

        event.listen(store.engine, "commit", told)
        with step_batch(conn):
            assert not driver_sql.commits_on_driver(conn)  # a listener is told of each commit
        event.remove(store.engine, "commit", told)
        conn.execute(LEASES.delete().where(ours))
        conn.commit()
    counter.close()
    store.dispose()


def test_a_listener_of_commits_sees_every_step_commit(postgres_url) -> None:
    store = WorldStore(postgres_url)
    env = gymnasium.make("tycoon/VendingYear-v0", store=store).unwrapped
    env.reset(seed=5)
    commits: list[object] = []

    def told(conn) -> None:
        commits.append(conn)

    event.listen(store.engine, "commit", told)
    for _ in range(3):
        env.step(action("get_balance"))
    event.remove(store.engine, "commit", told)
    assert len(commits) == 3
    env.close()
    store.dispose()
