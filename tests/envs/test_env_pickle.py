"""An env pickles as what identifies it and unpickles into a working copy that resumes."""

from __future__ import annotations

import pickle

import pytest

import tycoon
from tycoon.envs.world.store import WorldStore

ENV_ID = "tycoon/VendingYear-v0"


def test_an_unpickled_env_resumes_its_episode_and_plays_on_identically(
    backend_url, scripted_actions
) -> None:
    actions = scripted_actions(ENV_ID, 4)
    half = len(actions) // 2
    reference = tycoon.make(ENV_ID, db=backend_url, agent_name="scripted", scenario="probes")
    reference.reset(seed=4)
    for action in actions:
        reference.step(action)

    original = tycoon.make(ENV_ID, db=backend_url, agent_name="scripted", scenario="probes")
    original.reset(seed=4)
    for action in actions[:half]:
        original.step(action)
    shipped = pickle.dumps(original)
    episode_id = original.unwrapped.episode_id
    assert b"Engine" not in shipped  # identity only, no connection
    original.close()
    original.unwrapped.store.dispose()

    copy = pickle.loads(shipped)
    unwrapped = copy.unwrapped
    assert unwrapped.episode_id == episode_id
    assert unwrapped.spec.id == ENV_ID and unwrapped.scenario == "probes"
    assert unwrapped.config == reference.unwrapped.config
    for action in actions[half:]:
        _o, _r, _t, _tr, info = copy.step(action)
    assert info["step"] == len(actions)
    assert copy.unwrapped.state_hash() == reference.unwrapped.state_hash()
    for env in (copy, reference):
        env.close()
        env.unwrapped.store.dispose()


def test_an_env_never_reset_unpickles_ready_to_reset(tmp_path) -> None:
    env = tycoon.make("tycoon/VendingClassic-v0", db=str(tmp_path / "fresh.db"))
    copy = pickle.loads(pickle.dumps(env.unwrapped))
    assert copy.simulation is None
    observation, info = copy.reset(seed=1)
    assert info["step"] == 0 and "vending machine" in observation
    copy.close()
    copy.store.dispose()
    WorldStore(tmp_path / "fresh.db").dispose()


def test_an_env_on_an_in_memory_database_refuses_to_pickle() -> None:
    env = tycoon.make("tycoon/VendingClassic-v0")
    env.reset(seed=0)
    with pytest.raises(pickle.PicklingError, match="in-memory SQLite"):
        pickle.dumps(env)
