"""The durability setting: every step, every simulated day or once per episode.

The same seed and actions give the same final state hash in every setting; a crash loses
what the setting says (nothing committed since the last commit point), and the episode
resumes from there and ends as the uninterrupted run.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import gymnasium
import pytest
from durability_runs import (
    ENV_ID,
    SEED,
    HalfDone,
    call,
    committed_steps,
    crash,
    make,
    memory_view,
    play,
    with_half_done_tools,
)

from tycoon.envs.world.store import WorldStore


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


def statement_table(statement: str) -> tuple[str, str]:
    """(verb, table) of an INSERT INTO / UPDATE / DELETE FROM statement."""
    words = statement.split()
    verb = words[0].upper()
    return verb, (words[1] if verb == "UPDATE" else words[2]).strip('"')


def test_a_step_that_does_not_commit_writes_nothing_and_the_commit_writes_a_row_once(tmp_path):
    """Under "day" the world's changed rows stay pending until the night: a day's steps
    run no statement but the transaction's first lease fence, and a row changed by many
    steps is written once, with its last values."""
    from sqlalchemy import event

    db = f"sqlite:///{tmp_path / 'world.db'}"
    env = make(db, "day")
    env.reset(seed=SEED)
    sku = next(iter(env.simulation.world.products))
    statements: list[tuple[str, str, int]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        rows = len(parameters) if executemany else 1
        statements.append((*statement_table(statement), rows))

    def rows_written(verb: str, table: str) -> int:
        return sum(rows for v, t, rows in statements if (v, t) == (verb, table))

    event.listen(env.store.engine, "before_cursor_execute", record)
    first_day = [
        call("kv_set", key="a", value="1"),
        call("set_price", sku=sku, price=2.0),
        call("kv_set", key="a", value="2"),
        call("scratchpad_write", text="noted"),
        call("set_price", sku=sku, price=2.5),
        call("kv_set", key="a", value="3"),
        call("set_price", sku=sku, price=3.0),
    ]
    play(env, first_day)
    assert statements == [("UPDATE", "episode_leases", 1)]
    env.step(call("wait_for_next_day"))
    # the new rows, inserted once with their last values; no UPDATE of them
    assert rows_written("INSERT", "memory") == 2 and rows_written("INSERT", "prices") == 1
    assert rows_written("UPDATE", "memory") == rows_written("UPDATE", "prices") == 0
    assert committed_steps(db, env.episode_id) == len(first_day) + 1

    statements.clear()
    second_day = [
        call("kv_set", key="a", value="4"),
        call("set_price", sku=sku, price=3.25),
        call("kv_set", key="a", value="5"),
        call("set_price", sku=sku, price=3.5),
        call("kv_delete", key="a"),
    ]
    play(env, second_day)
    assert statements == [("UPDATE", "episode_leases", 1)]
    env.step(call("wait_for_next_day"))
    assert rows_written("UPDATE", "prices") == 1 and rows_written("DELETE", "memory") == 1
    assert rows_written("UPDATE", "memory") == rows_written("INSERT", "memory") == 0
    event.remove(env.store.engine, "before_cursor_execute", record)
    connection = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        price = connection.execute(
            "SELECT price_cents FROM prices WHERE episode_id = ? AND sku = ?",
            (env.episode_id, sku),
        ).fetchone()
        keys = connection.execute(
            "SELECT kind, key FROM memory WHERE episode_id = ? ORDER BY id", (env.episode_id,)
        ).fetchall()
    finally:
        connection.close()
    assert price == (350,) and keys == [("scratchpad", "")]
    env.close()


def test_a_run_killed_mid_day_resumes_from_the_last_night_as_the_uninterrupted_run(
    tmp_path, scripted_actions
):
    """SIGKILL a process under "day" in the middle of a day whose steps changed committed
    and new rows (a refused half-done call among them): the database holds the last night,
    and the resumed run ends in the hash of a run that committed every step."""
    script = scripted_actions(ENV_ID, SEED)  # ends with a night
    tail = [
        call("kv_set", key="old", value="committed"),
        call("scratchpad_write", text="day one"),
        call("wait_for_next_day"),
        call("kv_set", key="fresh", value="uncommitted"),
        call("kv_set", key="old", value="changed"),
        call("set_price", sku="cola-can-12oz", price=2.75),
        call("half_done_rows"),
        call("half_done"),
        call("kv_get", key="fresh"),
        call("read_inbox"),
        # killed here
        call("scratchpad_read"),
        call("kv_get", key="old"),
        call("wait_for_next_day"),
        call("get_balance"),
    ]
    actions = [*script, *tail]
    last_night = len(script) + 3
    killed_after = len(script) + 10
    db = f"sqlite:///{tmp_path / 'world.db'}"
    actions_file, marker = tmp_path / "actions.json", tmp_path / "episode"
    actions_file.write_text(json.dumps(actions))
    child = Path(__file__).with_name("durability_child.py")
    process = subprocess.Popen(
        [sys.executable, str(child), db, str(actions_file), str(killed_after), str(marker)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() or not marker.read_text():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the child never reached its pause"
            time.sleep(0.05)
        episode_id = int(marker.read_text())
        assert committed_steps(db, episode_id) == last_night
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    resumed = make(db, "day")
    resumed.reset(options={"episode_id": episode_id})
    with_half_done_tools(resumed)
    assert resumed.simulation.episode.step_count == last_night
    kept = {(kind, key): value for kind, key, value in memory_view(resumed)}
    assert kept[("kv", "old")] == "committed" and kept[("scratchpad", "")].endswith("day one")
    assert ("kv", "fresh") not in kept and ("kv", "added") not in kept
    resumed_trace = play(resumed, actions[last_night:])
    resumed_hash = resumed.state_hash()
    resumed.close()

    every_step = make(f"sqlite:///{tmp_path / 'every_step.db'}", "step")
    every_step.reset(seed=SEED)
    with_half_done_tools(every_step)
    trace = play(every_step, actions)
    assert resumed_trace == trace[last_night:]
    assert resumed_hash == every_step.state_hash()
    every_step.close()


EARLY_COMMITS = ["close", "state_hash", "fork", "commit_world_changes", "pickle", "episode_end"]


@pytest.mark.parametrize("how", EARLY_COMMITS)
def test_what_commits_before_the_commit_point_writes_the_pending_world_rows(how, tmp_path):
    """Under "episode" nothing is written before the episode ends, unless something
    commits early: then the day's pending world rows go out with the staged step rows,
    and what another reader sees committed is the state of a run that commits every step."""
    actions = [
        call("kv_set", key="a", value="1"),
        call("set_price", sku="cola-can-12oz", price=2.0),
        call("wait_for_next_day"),
        call("kv_set", key="a", value="2"),
        call("scratchpad_write", text="pending"),
        call("set_price", sku="cola-can-12oz", price=2.5),
    ]
    config = {"max_steps": len(actions)} if how == "episode_end" else {}
    reference = make(f"sqlite:///{tmp_path / 'step.db'}", "step", config=config)
    reference.reset(seed=SEED)
    play(reference, actions)
    expected = reference.store.state_hash(reference.episode_id)
    reference.close()

    db = f"sqlite:///{tmp_path / 'world.db'}"
    env = make(db, "episode", config=config)
    env.reset(seed=SEED)
    episode_id = env.episode_id
    play(env, actions)
    copy = None
    if how == "close":
        env.close()
    elif how == "state_hash":
        assert env.state_hash() == expected
    elif how == "fork":
        copy = env.fork()
    elif how == "commit_world_changes":
        env.simulation.commit_world_changes()
    elif how == "pickle":
        pickle.dumps(env)
    assert committed_steps(db, episode_id) == len(actions)
    reader = WorldStore(db)
    try:
        assert reader.state_hash(episode_id) == expected
        if copy is not None:
            assert reader.state_hash(copy) == expected
    finally:
        reader.dispose()
    env.close()
