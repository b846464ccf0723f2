"""A refused call that left changes behind is undone from the world's journal of the step.

Under durability "day" and "episode" the earlier steps of the day are not written yet
(their rows stay pending in the world): the undo must put back the step's own changes
only, down to the values the earlier uncommitted steps left, and end where a run that
commits every step ends (the same observations, the same final state hash).
"""

from __future__ import annotations

import pytest
from durability_runs import SEED, call, make, memory_view, play, with_half_done_tools

from tycoon.envs.vending import memory
from tycoon.envs.vending.world import BANK, OWNER, VendingWorld


def pending(world: VendingWorld) -> tuple[object, ...]:
    """The world's changes not written yet, by table and local id."""
    return (
        {name: [row.id for row in rows] for name, rows in world.new_rows.items() if rows},
        sorted((row.__table__.name, row.id) for row in world.changed_rows),
        sorted((row.__table__.name, row.id) for row in world.deleted_rows),
    )


def test_undo_step_puts_back_the_step_and_keeps_the_earlier_steps_pending(tmp_path):
    env = make(f"sqlite:///{tmp_path / 'world.db'}", "day")
    env.reset(seed=SEED)
    world = env.simulation.world
    sku = next(iter(world.products))
    play(
        env,
        [
            call("kv_set", key="old", value="committed"),
            call("wait_for_next_day"),
            call("kv_set", key="fresh", value="uncommitted"),
            call("kv_set", key="old", value="changed today"),
            call("set_price", sku=sku, price=2.0),
        ],
    )
    rows = [*world.memory, *world.prices.values(), *world.emails.values()]

    def state() -> tuple[object, ...]:
        ids = (world.next_local_id("memory"), world.next_local_id("ledger"))
        return pending(world), [row.values() for row in rows], ids

    before = state()
    assert before[0][1] == [("memory", 1)]  # "old": changed by an uncommitted step
    # a step that changes the same rows again, adds, deletes and stages rows
    memory.kv_set(world, "old", "changed by the refused step")
    memory.kv_set(world, "fresh", "changed by the refused step")
    world.set_price(sku, 999)
    memory.kv_delete(world, "fresh")  # a new row, deleted
    memory.kv_delete(world, "old")  # a written row, deleted
    memory.kv_set(world, "added", "by the refused step")
    world.transfer(BANK, OWNER, 1, "refused")
    world.deliver_email("someone@example.com", "Half done", "never came")
    assert world.edits > 0 and state() != before
    world.undo_step()
    assert world.edits == 0
    assert state() == before
    env.close()


def run_actions(db: str, durability: str, actions: list[str], env_id: str | None = None):
    """The trace (observation, reward, flags, step, clock), memory and hash of a run."""
    env = make(db, durability) if env_id is None else make(db, durability, env_id)
    env.reset(seed=SEED)
    with_half_done_tools(env)
    trace = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        trace.append((observation, reward, terminated, truncated, info["step"], info["time"]))
        trace.append(tuple(sorted(info.get("behavior_events", []), key=repr)))
    result = (trace, memory_view(env), env.state_hash())
    env.close()
    env.store.dispose()
    return result


SAME_ROWS_TWICE = [
    call("kv_set", key="old", value="committed"),
    call("set_price", sku="cola-can-12oz", price=2.0),
    call("wait_for_next_day"),
    # the day's uncommitted steps change the rows the refused calls change again
    call("set_price", sku="cola-can-12oz", price=2.5),
    call("kv_set", key="fresh", value="uncommitted"),
    call("kv_set", key="old", value="changed today"),
    call("scratchpad_write", text="today"),
    call("half_done"),
    call("half_done_rows"),
    call("kv_get", key="fresh"),
    call("kv_get", key="old"),
    call("scratchpad_read"),
    call("read_inbox"),
    call("get_balance"),
    call("half_done_rows"),  # again, after its first undo
    call("wait_for_next_day"),
    call("half_done"),  # the first step of a day
    call("kv_get", key="added"),
    call("get_balance"),
]


@pytest.mark.parametrize("durability", ["day", "episode"])
def test_a_refused_call_is_undone_to_the_earlier_uncommitted_steps_values(
    durability, backend_url, tmp_path
):
    """The refused calls' old values are those the day's earlier steps left (not the
    committed ones), the rows they added are gone, and those they deleted are back."""
    if backend_url.startswith("sqlite"):
        urls = [f"sqlite:///{tmp_path / name}.db" for name in ("step", durability)]
    else:
        urls = [backend_url, backend_url]
    every_step = run_actions(urls[0], "step", SAME_ROWS_TWICE)
    deferred = run_actions(urls[1], durability, SAME_ROWS_TWICE)
    assert deferred == every_step
    trace, kept, _ = deferred
    observations = trace[::2]  # (each step's events follow it)
    assert "half_done_rows failed: refused after changing rows" in observations[8][0]
    assert "uncommitted" in observations[9][0] and "changed today" in observations[10][0]
    assert ("kv", "fresh", "uncommitted") in kept and ("kv", "old", "changed today") in kept
    assert not any(key == "added" for _, key, _ in kept)


def test_a_refused_call_in_a_probe_episode_is_undone_as_when_every_step_commits(tmp_path):
    """With probes, the undo also puts the probes' state and the behaviour recorder back
    (as reloading them does)."""
    actions = [
        call("read_file", path="ops/oversight.yaml"),
        call("kv_set", key="old", value="committed"),
        call("wait_for_next_day"),
        call("kv_set", key="fresh", value="uncommitted"),
        call("half_done_rows"),
        call("read_file", path="ops/schedule.yaml"),
        call("get_balance"),
        call("wait_for_next_day"),
    ]
    env_id = "tycoon/VendingProbes-v0"
    every_step = run_actions(f"sqlite:///{tmp_path / 'step.db'}", "step", actions, env_id)
    deferred = run_actions(f"sqlite:///{tmp_path / 'day.db'}", "day", actions, env_id)
    assert deferred == every_step
