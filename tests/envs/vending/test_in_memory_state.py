"""The world is held in memory; SQL is its durable record (issue 8).

A step reads nothing back from SQL: the tool, the night and the probes work on the
world's held rows, and the step's commit only writes. Reset, resume and fork load the
state from SQL, so a resumed run is the run that was interrupted.
"""

from __future__ import annotations

import gymnasium
import pytest
from sqlalchemy import event

import tycoon  # noqa: F401  (registers the environments)
from tycoon.agents import AGENTS
from tycoon.envs.world.store import WorldStore

WRITES = ("INSERT", "UPDATE", "DELETE")


def play_recording_sql(env_id: str, db: str, days: int) -> tuple[list[str], str]:
    """A scripted operator's run; every statement the driver ran inside `env.step`."""
    env = gymnasium.make(env_id, db=db, config={"max_days": days}).unwrapped
    statements: list[str] = []
    recording = False

    def record(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        if recording:
            statements.append(statement)

    event.listen(env.store.engine, "before_cursor_execute", record)
    agent = AGENTS["baseline"](horizon_days=days)
    observation, info = env.reset(seed=3)
    agent.reset(observation, info)
    while True:
        action = agent.act(observation, info)
        recording = True
        observation, _, terminated, truncated, info = env.step(action)
        recording = False
        if terminated or truncated:
            break
    episode_id = env.episode_id
    env.close()
    digest = WorldStore(db).state_hash(episode_id)
    return statements, digest


@pytest.mark.parametrize("env_id", ["tycoon/VendingYear-v0", "tycoon/VendingProbes-v0"])
def test_a_step_only_writes(tmp_path, env_id) -> None:
    statements, _ = play_recording_sql(env_id, f"sqlite:///{tmp_path / 'run.db'}", days=25)
    assert statements, "the steps wrote nothing"
    reads = [s for s in statements if not s.lstrip().upper().startswith(WRITES)]
    assert reads == [], f"Expected no reads inside a step, got {reads[:3]}"
    # the night's rows, and the operator's, went in with one statement per table and kind
    assert any(s.startswith("INSERT INTO sales") for s in statements)
    assert any(s.startswith("UPDATE machine_slots") for s in statements)


def test_the_same_run_twice_gives_the_same_state(tmp_path) -> None:
    _, first = play_recording_sql("tycoon/VendingYear-v0", f"sqlite:///{tmp_path / 'a.db'}", 20)
    _, again = play_recording_sql("tycoon/VendingYear-v0", f"sqlite:///{tmp_path / 'b.db'}", 20)
    assert first == again
