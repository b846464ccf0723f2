"""The durability setting: every step, every simulated day or once per episode.

The same seed and actions give the same final state hash in every setting; a crash loses
what the setting says (nothing committed since the last commit point), and the episode
resumes from there and ends as the uninterrupted run.
"""

from __future__ import annotations

import json
import sqlite3
from typing import ClassVar

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld, WorldError

ENV_ID = "tycoon/VendingClassic-v0"
SEED = 7


def make(db: str, durability: str):
    return gymnasium.make(ENV_ID, db=db, durability=durability).unwrapped


def play(env, actions: list[str]) -> list[tuple[str, float, bool, bool]]:
    return [env.step(action)[:4] for action in actions]


def committed_steps(db: str, episode_id: int) -> int:
    """What another reader sees committed (a plain reader: the writer holds the lock)."""
    connection = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        query = "SELECT step_count FROM episodes WHERE id = ?"
        return connection.execute(query, (episode_id,)).fetchone()[0]
    finally:
        connection.close()


def crash(env) -> int:
    """Drop the simulation as a killed process would: nothing more is committed."""
    simulation = env.simulation
    episode_id = simulation.episode.id
    simulation.abandon()
    env.store.release_episode(episode_id)  # a dead process's lease is taken over anyway
    env.simulation = None
    return episode_id


@pytest.mark.parametrize("durability", ["day", "episode"])
def test_same_seed_same_hash_in_every_setting(durability, backend_url, scripted_actions):
    actions = scripted_actions(ENV_ID, SEED)
    reference = make(backend_url, "step")
    reference.reset(seed=SEED)
    trace_step = play(reference, actions)
    hash_step = reference.state_hash()
    reference.close()

    env = make(backend_url, durability)
    env.reset(seed=SEED)
    assert play(env, actions) == trace_step
    assert env.state_hash() == hash_step
    env.close()
    env.store.dispose()


def test_day_durability_commits_at_night_and_a_crash_loses_the_day(tmp_path, scripted_actions):
    db = f"sqlite:///{tmp_path / 'world.db'}"
    # the script, then a morning's work after its last night
    actions = [
        *scripted_actions(ENV_ID, SEED),
        json.dumps({"name": "get_balance", "arguments": {}}),
        json.dumps({"name": "read_inbox", "arguments": {}}),
    ]
    env = make(db, "day")
    env.reset(seed=SEED)
    last_night = 0
    for index, action in enumerate(actions, start=1):
        info = env.step(action)[4]
        if "night" in info:
            last_night = index
    assert 0 < last_night < len(actions)  # the script crosses a night and goes on after it
    episode_id = env.episode_id
    assert committed_steps(db, episode_id) == last_night
    crash(env)

    resumed = make(db, "day")
    resumed.reset(options={"episode_id": episode_id})
    assert resumed.simulation.episode.step_count == last_night
    play(resumed, actions[last_night:])
    resumed_hash = resumed.state_hash()
    resumed.close()

    uninterrupted = make(db, "step")
    uninterrupted.reset(seed=SEED)
    play(uninterrupted, actions)
    assert resumed_hash == uninterrupted.state_hash()
    uninterrupted.close()


def test_episode_durability_commits_nothing_until_close(tmp_path):
    db = f"sqlite:///{tmp_path / 'world.db'}"
    env = make(db, "episode")
    env.reset(seed=SEED)
    episode_id = env.episode_id
    for _ in range(3):
        env.step(json.dumps({"name": "wait_for_next_day", "arguments": {}}))
    assert committed_steps(db, episode_id) == 0
    env.close()
    assert committed_steps(db, episode_id) == 3


def test_unknown_durability_is_refused():
    with pytest.raises(ValueError, match="Expected durability in"):
        gymnasium.make(ENV_ID, durability="hourly").unwrapped.reset(seed=1)


class HalfDone(Tool):
    """Raises its product's price by a cent, then refuses: a tool that breaks the rule
    of checking before changing, so the step must undo what it left behind."""

    name: ClassVar[str] = "half_done"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        sku = next(iter(world.products))
        world.set_price(sku, world.price_of(sku) + 1)
        raise WorldError("refused after a change")


@pytest.mark.parametrize("durability", ["day", "episode"])
def test_a_refused_half_done_call_is_undone_as_when_every_step_commits(durability, tmp_path):
    """The undo reloads the world from the database: the steps staged since the last
    commit must be there (and the clock and counters as of the step before)."""
    balance = json.dumps({"name": "get_balance", "arguments": {}})
    wait = json.dumps({"name": "wait_for_next_day", "arguments": {}})
    half_done = json.dumps({"name": "half_done", "arguments": {}})
    actions = [wait, balance, balance, half_done, balance, wait, half_done, balance]
    runs = {}
    for setting in ("step", durability):
        env = make(f"sqlite:///{tmp_path / setting}.db", setting)
        env.reset(seed=SEED)
        env.simulation.tools["half_done"] = HalfDone
        sku = next(iter(env.simulation.world.products))
        price = env.simulation.world.price_of(sku)
        steps = []
        for action in actions:
            observation, reward, terminated, truncated, info = env.step(action)
            steps.append((observation, reward, terminated, truncated, info["step"], info["time"]))
        assert env.simulation.world.price_of(sku) == price  # both half-done calls undone
        assert env.simulation.episode.step_count == len(actions)
        runs[setting] = (steps, env.state_hash())
        env.close()
    assert runs[durability] == runs["step"]
    assert "half_done failed: refused after a change" in runs["step"][0][3][0]


def test_day_durability_writes_the_days_step_rows_at_once_at_the_night(tmp_path):
    """A step that does not commit stages its row: the rows and the counters are written
    at the commit point (one executemany), the lease fenced at the transaction's first
    step and at its commit."""
    from sqlalchemy import event

    db = f"sqlite:///{tmp_path / 'world.db'}"
    env = make(db, "day")
    env.reset(seed=SEED)
    statements: list[tuple[str, bool, int]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        rows = len(parameters) if executemany else 1
        statements.append((statement.split("(")[0].strip(), executemany, rows))

    event.listen(env.store.engine, "before_cursor_execute", record)
    balance = json.dumps({"name": "get_balance", "arguments": {}})
    for _ in range(4):
        env.step(balance)

    def written(prefix: str) -> list[tuple[str, bool, int]]:
        return [s for s in statements if s[0].startswith(prefix)]

    assert (written("INSERT INTO steps"), written("UPDATE episodes")) == ([], [])
    assert len(written("UPDATE episode_leases")) == 1
    env.step(json.dumps({"name": "wait_for_next_day", "arguments": {}}))
    assert written("INSERT INTO steps") == [("INSERT INTO steps", True, 5)]
    assert len(written("UPDATE episodes")) == 1
    assert len(written("UPDATE episode_leases")) == 2
    assert committed_steps(db, env.episode_id) == 5
    event.remove(env.store.engine, "before_cursor_execute", record)
    env.close()
