"""Same seed + same actions = same observations, rewards and state hash, on every backend.

Also: a fork continues exactly as the original, a killed process resumes from the
database with nothing lost, and the state hash depends on neither the episode id nor the
database engine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import WorldStore

ENV_IDS = ("tycoon/VendingClassic-v0", "tycoon/VendingYear-v0")
SEED = 7


def make(env_id: str, **kwargs):
    return gymnasium.make(env_id, **kwargs).unwrapped


def run(env, actions: list[str]) -> list[tuple[str, float, bool, bool]]:
    trace = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        assert not info["invalid_action"], (action, observation)
        trace.append((observation, reward, terminated, truncated))
    return trace


def rollout(env_id: str, db: str, seed: int, actions: list[str]):
    env = make(env_id, db=db)
    first, _ = env.reset(seed=seed)
    trace = run(env, actions)
    result = ([first, *trace], env.state_hash(), env.episode_id)
    env.close()
    env.store.dispose()
    return result


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_rollout(env_id, backend_url, scripted_actions):
    actions = scripted_actions(env_id, SEED)
    trace_a, hash_a, id_a = rollout(env_id, backend_url, SEED, actions)
    trace_b, hash_b, id_b = rollout(env_id, backend_url, SEED, actions)

    assert id_a != id_b  # two episodes in one database
    assert trace_a == trace_b
    assert hash_a == hash_b
    # the script really moved the economy: goods stocked and sold, money changed hands
    observations = "\n".join(step[0] for step in trace_a[1:])
    assert "Stocked" in observations
    assert "Sales: nothing sold." in observations  # the days before stocking
    assert re.search(r"Sales: \d+ units for", observations), "expected sales after stocking"
    assert any(step[1] > 0 for step in trace_a[1:])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_different_seed_different_hash(env_id, tmp_path, scripted_actions):
    db = str(tmp_path / "world.db")
    actions = [a for a in scripted_actions(env_id, SEED) if '"wait_for_next_day"' in a]
    _, hash_a, _ = rollout(env_id, db, SEED, actions)
    _, hash_b, _ = rollout(env_id, db, SEED + 1, actions)
    assert hash_a != hash_b


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fork_continues_like_the_original(env_id, backend_url, scripted_actions):
    actions = scripted_actions(env_id, SEED)
    k = len(actions) // 2
    original = make(env_id, db=backend_url)
    original.reset(seed=SEED)
    run(original, actions[:k])
    hash_at_fork = original.state_hash()
    fork_id = original.fork()
    assert fork_id != original.episode_id
    assert original.store.state_hash(fork_id) == hash_at_fork

    branch = make(env_id, store=original.store)
    observation, info = branch.reset(options={"episode_id": fork_id})
    assert branch.episode_id == fork_id
    assert observation.startswith("Resumed at")
    assert info["step"] == k

    trace_original = run(original, actions[k:])
    trace_branch = run(branch, actions[k:])
    assert trace_branch == trace_original
    assert branch.state_hash() == original.state_hash()
    assert original.store.state_hash(fork_id) != hash_at_fork  # the branch moved on
    # the fork copied the trajectory up to k, then both wrote their own rows
    counts = original.store.count_rows(fork_id)
    assert counts["steps"] == len(actions)
    assert counts == original.store.count_rows(original.episode_id)
    branch.close()
    original.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fork_at_reset_has_the_same_hash(env_id, tmp_path):
    env = make(env_id, db=str(tmp_path / "world.db"))
    env.reset(seed=SEED)
    fork_id = env.fork()
    assert fork_id != env.episode_id
    assert env.store.state_hash(fork_id) == env.state_hash()
    env.close()


def test_same_hash_on_sqlite_and_postgres(tmp_path, postgres_url, scripted_actions):
    env_id = "tycoon/VendingYear-v0"
    actions = scripted_actions(env_id, SEED)
    trace_sqlite, hash_sqlite, _ = rollout(env_id, str(tmp_path / "world.db"), SEED, actions)
    trace_pg, hash_pg, _ = rollout(env_id, postgres_url, SEED, actions)
    assert trace_pg == trace_sqlite
    assert hash_pg == hash_sqlite


# --- kill and resume ---------------------------------------------------------------------

# Runs the first actions, printing a line after each committed step, then waits to be
# killed: whatever the parent sees printed is in the database.
CHILD = """
import json, sys, time
import gymnasium, tycoon
job = json.load(open(sys.argv[1]))
env = gymnasium.make(job["env_id"], db=job["db"]).unwrapped
env.reset(seed=job["seed"])
print("EPISODE", env.episode_id, flush=True)
for number, action in enumerate(job["actions"], 1):
    env.step(action)
    print("COMMITTED", number, flush=True)
time.sleep(600)
"""


def run_and_kill(tmp_path, env_id: str, db: str, seed: int, actions: list[str]) -> int:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"env_id": env_id, "db": db, "seed": seed, "actions": actions}))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        episode_id = None
        deadline = time.monotonic() + 120
        for line in child.stdout:  # type: ignore[union-attr]
            words = line.split()
            if words[:1] == ["EPISODE"]:
                episode_id = int(words[1])
            if words == ["COMMITTED", str(len(actions))]:
                break
            assert time.monotonic() < deadline, "child too slow"
        else:
            pytest.fail(f"child exited early: {child.wait()} {child.stderr.read()}")  # type: ignore[union-attr]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    assert episode_id is not None
    return episode_id


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_killed_process_resumes_without_loss(env_id, tmp_path, backend_url, scripted_actions):
    actions = scripted_actions(env_id, SEED)
    k = len(actions) // 2 + 1
    reference_trace, reference_hash, _ = rollout(env_id, backend_url, SEED, actions)

    episode_id = run_and_kill(tmp_path, env_id, backend_url, SEED, actions[:k])

    env = make(env_id, db=backend_url)
    assert env.store.count_rows(episode_id)["steps"] == k  # no committed step lost
    observation, info = env.reset(options={"episode_id": episode_id})
    assert observation.startswith("Resumed at")
    assert info["step"] == k
    trace = run(env, actions[k:])
    assert trace == reference_trace[1 + k :]
    assert env.state_hash() == reference_hash
    assert env.store.count_rows(episode_id)["steps"] == len(actions)
    env.close()


def test_resume_needs_an_existing_episode(tmp_path):
    from tycoon.envs.world.store import StoreError

    env = make("tycoon/VendingClassic-v0", db=str(tmp_path / "world.db"))
    with pytest.raises(StoreError, match="existing episode id"):
        env.reset(options={"episode_id": 424242})


def test_resume_in_a_new_store_object(tmp_path, scripted_actions):
    # a fresh WorldStore (a new process would make one) sees everything that was committed
    env_id = "tycoon/VendingClassic-v0"
    db = str(tmp_path / "world.db")
    actions = scripted_actions(env_id, SEED)
    env = make(env_id, db=db)
    env.reset(seed=SEED)
    run(env, actions[:5])
    episode_id, expected = env.episode_id, env.state_hash()
    env.close()
    env.store.dispose()
    assert WorldStore(db).state_hash(episode_id) == expected
