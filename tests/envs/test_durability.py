"""The durability setting: every step, every simulated day or once per episode.

The same seed and actions give the same final state hash in every setting; a crash loses
what the setting says (nothing committed since the last commit point), and the episode
resumes from there and ends as the uninterrupted run.
"""

from __future__ import annotations

import json
import sqlite3

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the ids)

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
