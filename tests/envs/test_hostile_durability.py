"""Hostile actions amid a day that is not committed yet, then a kill, then a resume.

tests/envs/test_bad_input.py refuses every hostile action with every step committed. Under
durability "day" and "episode" the steps before a commit point live only in the process:
here a morning's valid steps are followed by hostile ones (NaN, inf, negative and huge
numbers, an unknown tool, wrong types, deep nesting, 10 MB strings, non-string actions,
paths outside the file system), each refused with one clear error exactly as with every
step committed; then the process is killed (SIGKILL, tests/envs/hostile_run_driver.py),
the episode resumed from its last commit point and played on. It ends in the state hash of
the same actions with every step committed, which is the hash of the run without the
hostile actions (a refused action changes nothing), with the same step rows.
"""

from __future__ import annotations

import json
import math
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium
import pytest
from sqlalchemy import select

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.schema import Step

ENV_ID = "tycoon/VendingClassic-v0"
SEED = 7
DRIVER = Path(__file__).with_name("hostile_run_driver.py")


def tool(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def hostile_actions(sku: str, account: str) -> list[tuple[str, Any, str]]:
    """(name, action, a fragment of its error) for a real sku and payment account."""
    return [
        ("nan-price", tool("set_price", sku=sku, price=math.nan), "finite number, got nan"),
        (
            "nan-literal",
            '{"name": "set_price", "arguments": {"sku": "' + sku + '", "price": NaN}}',
            "NaN is not a number JSON allows",
        ),
        ("inf-payment", tool("send_payment", to_account=account, amount=math.inf), "got inf"),
        ("negative-price", tool("set_price", sku=sku, price=-1), "greater than 0, got -1"),
        ("negative-payment", tool("send_payment", to_account=account, amount=-5), "got -5"),
        ("huge-int-price", tool("set_price", sku=sku, price=10**30), "at most 30 digits"),
        (
            "huge-int-quantity",
            tool("stock_machine", sku=sku, quantity=2**63),
            "less than or equal to 10000",
        ),
        (
            "huge-int-literal",
            '{"name": "send_payment", "arguments": {"to_account": "'
            + account
            + '", "amount": '
            + "9" * 400
            + "}}",
            "about 401 digits",
        ),
        ("unknown-tool", tool("format_disk"), "Unknown tool 'format_disk'"),
        ("wrong-type", tool("set_price", sku=["x"], price=1.5), "sku: input should be a valid"),
        ("arguments-list", {"name": "get_balance", "arguments": "[1]"}, "as an object, got list"),
        ("deep-json", "[" * 24_000 + "]" * 24_000, "Expected"),
        ("deep-json-long", "[" * 100_000 + "]" * 100_000, "at most 50000 characters"),
        ("ten-mb-text", "x" * 10_000_000, "at most 50000 characters, got 10000000"),
        ("ten-mb-argument", tool("kv_set", key="k", value="y" * 10_000_000), "as JSON"),
        ("none", None, "got NoneType"),
        ("int", 7, "got int"),
        ("float-nan", math.nan, "got float"),
        ("list", [tool("get_balance")], "got list"),
        ("path-outside", tool("read_file", path="../../etc/passwd"), "leaves the file system"),
        (
            "path-outside-write",
            tool("write_file", path="/notes/../../x", content="x"),
            "leaves the file system",
        ),
    ]


def call(name: str, **arguments: Any) -> str:
    return json.dumps(tool(name, **arguments))


MORNING = [call("get_balance"), call("read_inbox")]
# the run goes on after the resume: valid steps work, a night passes
AFTER = [call("get_balance"), call("wait_for_next_day"), call("read_inbox"), call("get_balance")]


def step_rows(env) -> list[tuple[int, str, bool, float]]:
    with env.store.engine.connect() as conn:
        rows = conn.execute(
            select(Step.id, Step.tool, Step.valid, Step.reward)
            .where(Step.episode_id == env.episode_id)
            .order_by(Step.id)
        )
        return [(int(i), t, bool(v), float(r)) for i, t, v, r in rows]


def seen(stepped) -> list[Any]:
    """What a step returned that another run must match (JSON-shaped, as the driver
    reports it)."""
    observation, reward, terminated, truncated, info = stepped
    return [observation, reward, terminated, truncated, info["invalid_action"]]


def every_step_committed(db: str, actions: list[Any], hostile: dict[int, str]):
    """The actions with every step committed: what each step returned, the final hash and
    the step rows. Each hostile step (index -> error fragment) is refused and leaves the
    state hash as it was."""
    env = gymnasium.make(ENV_ID, db=db).unwrapped
    env.reset(seed=SEED)
    trajectory = []
    for index, action in enumerate(actions):
        before = env.state_hash() if index in hostile else None
        stepped = env.step(action)
        trajectory.append(seen(stepped))
        if index in hostile:
            observation, info = stepped[0], stepped[4]
            assert info["invalid_action"] is True, observation[:200]
            assert observation.startswith("Error:"), observation[:200]
            assert hostile[index] in observation, observation[:200]
            assert len(observation) < 2_000
            assert env.state_hash() == before, observation[:200]
    result = trajectory, env.state_hash(), step_rows(env)
    env.close()
    env.store.dispose()
    return result


def killed_after(db: str, durability: str, actions: list[Any], tmp_path: Path):
    """The actions on a new episode under `durability`, then SIGKILL: (episode id, what
    each step returned)."""
    actions_file = tmp_path / "actions.pickle"
    actions_file.write_bytes(pickle.dumps(actions))
    done = subprocess.run(
        [sys.executable, str(DRIVER), db, durability, str(SEED), ENV_ID, str(actions_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    lines = done.stdout.splitlines()
    return int(lines[0]), [json.loads(line) for line in lines[1:]]


@pytest.mark.parametrize("durability", ["day", "episode"])
def test_hostile_steps_in_an_uncommitted_day_then_a_kill_resume_as_every_step_committed(
    durability, backend_url, scripted_actions, tmp_path
):
    script = scripted_actions(ENV_ID, SEED)  # it ends with a night: a commit point for "day"
    probe = gymnasium.make(ENV_ID).unwrapped  # in-memory: the world's skus and accounts
    probe.reset(seed=SEED)
    world = probe.simulation.world
    hostile = hostile_actions(
        next(iter(world.products)), next(iter(world.suppliers.values())).payment_account
    )
    probe.close()
    before_kill = [*script, *MORNING, *(action for _, action, _ in hostile)]
    actions = [*before_kill, *AFTER]
    first_hostile = len(script) + len(MORNING)
    fragments = {first_hostile + i: fragment for i, (_, _, fragment) in enumerate(hostile)}

    trajectory, final_hash, rows = every_step_committed(backend_url, actions, fragments)
    # a refused action changes nothing: the run without them ends in the same state
    _, plain_hash, _ = every_step_committed(backend_url, [*script, *MORNING, *AFTER], {})
    assert final_hash == plain_hash

    episode_id, killed_trajectory = killed_after(backend_url, durability, before_kill, tmp_path)
    assert killed_trajectory == trajectory[: len(before_kill)]

    env = gymnasium.make(ENV_ID, db=backend_url, durability=durability).unwrapped
    env.reset(options={"episode_id": episode_id})
    committed = env.simulation.episode.step_count
    # the kill lost the morning and the hostile steps ("day") or everything ("episode")
    assert committed == (len(script) if durability == "day" else 0)
    resumed = [seen(env.step(action)) for action in actions[committed:]]
    assert resumed == trajectory[committed:]
    assert env.state_hash() == final_hash
    assert step_rows(env) == rows
    env.close()
    env.store.dispose()
