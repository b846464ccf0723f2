"""On PostgreSQL a simulation holds one connection while it lives (as on a SQLite file),
while fewer than `POSTGRES_POOL_SIZE` simulations of its store hold one; the others take
one from the pool per transaction. A held connection saves a checkout and a checkin per
step; one that dies while held costs a retried step, nothing else."""

from __future__ import annotations

import json

import gymnasium
import pytest
from sqlalchemy import create_engine, event, text

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import POSTGRES_POOL_SIZE, WorldStore

pytestmark = pytest.mark.postgres
ENV_ID = "tycoon/VendingClassic-v0"
GET_BALANCE = json.dumps({"name": "get_balance", "arguments": {}})
WAIT = json.dumps({"name": "wait_for_next_day", "arguments": {}})


def backend_pids(store: WorldStore) -> set[int]:
    """The server processes of this database's client connections, but the asker's."""
    with store.engine.connect() as conn:
        return set(
            conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).scalars()
        )


def test_a_simulation_steps_on_its_own_connection_without_the_pool(postgres_url) -> None:
    store = WorldStore(postgres_url)
    env = gymnasium.make(ENV_ID, store=store).unwrapped
    env.reset(seed=3)
    checkouts = []
    event.listen(store.engine, "checkout", lambda *args: checkouts.append(args))
    for action in (GET_BALANCE, WAIT, GET_BALANCE):
        env.step(action)
    assert checkouts == []  # the simulation's connection stayed with it
    assert store.engine.pool.checkedout() == 1
    assert store.get_episode(env.episode_id).step_count == 3  # every step committed
    env.close()
    assert store.engine.pool.checkedout() == 0  # given back with the simulation
    store.dispose()


def test_past_the_pool_size_simulations_take_a_pooled_connection_per_step(postgres_url) -> None:
    store = WorldStore(postgres_url)
    envs = [gymnasium.make(ENV_ID, store=store).unwrapped for _ in range(POSTGRES_POOL_SIZE + 2)]
    for seed, env in enumerate(envs):
        env.reset(seed=seed)
    for env in envs:
        env.step(GET_BALANCE)
        env.step(WAIT)
    # the first POSTGRES_POOL_SIZE hold theirs between steps; the others gave theirs back
    assert store.engine.pool.checkedout() == POSTGRES_POOL_SIZE
    assert [store.get_episode(env.episode_id).step_count for env in envs] == [2] * len(envs)
    envs[0].close()  # its connection goes back: a new simulation may hold one again
    newcomer = gymnasium.make(ENV_ID, store=store).unwrapped
    newcomer.reset(seed=99)
    newcomer.step(GET_BALANCE)
    assert store.engine.pool.checkedout() == POSTGRES_POOL_SIZE
    for env in [*envs[1:], newcomer]:
        env.close()
    assert store.engine.pool.checkedout() == 0
    store.dispose()


def test_a_held_connection_that_died_between_steps_costs_one_retried_step(
    postgres_url, tmp_path
) -> None:
    store = WorldStore(postgres_url)
    env = gymnasium.make(ENV_ID, store=store).unwrapped
    env.reset(seed=4)
    reference = gymnasium.make(ENV_ID, db=str(tmp_path / "reference.db")).unwrapped
    reference.reset(seed=4)
    for action in (GET_BALANCE, WAIT, GET_BALANCE):
        env.step(action)
        reference.step(action)
    held = backend_pids(store)
    admin = create_engine(postgres_url, poolclass=None)
    with admin.connect() as other:  # the server drops every connection, the held ones too
        other.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
            {"pids": sorted(held)},
        )
    admin.dispose()
    for action in (WAIT, GET_BALANCE):
        env.step(action)
        reference.step(action)
    assert backend_pids(store).isdisjoint(held)  # steps on new connections
    episode = store.get_episode(env.episode_id)
    assert episode.step_count == 5  # the refused attempt was no step: each action once
    assert env.state_hash() == reference.state_hash()
    env.close()
    reference.close()
    store.dispose()
