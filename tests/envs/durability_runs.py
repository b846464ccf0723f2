"""Shared by the durability tests (and their killed child process): envs made with a
durability setting, plain readers of what is committed, and tools that break the rule of
checking before changing (a refused call that leaves changes behind must be undone)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, ClassVar

import gymnasium

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.world import BANK, OWNER, VendingWorld, WorldError

ENV_ID = "tycoon/VendingClassic-v0"
SEED = 7


def call(name: str, **arguments: Any) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def make(db: str, durability: str, env_id: str = ENV_ID, **kwargs: Any):
    return gymnasium.make(env_id, db=db, durability=durability, **kwargs).unwrapped


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


class HalfDone(Tool):
    """Raises its product's price by a cent, then refuses: a tool that breaks the rule
    of checking before changing, so the step must undo what it left behind."""

    name: ClassVar[str] = "half_done"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        sku = next(iter(world.products))
        world.set_price(sku, world.price_of(sku) + 1)
        raise WorldError("refused after a change")


class HalfDoneRows(Tool):
    """Adds, changes and deletes rows of every kind, then refuses: a new key, both
    `fresh` and `old` deleted (whichever exist), the scratchpad extended, a cent paid
    out (a staged ledger row), a letter delivered and the clock moved."""

    name: ClassVar[str] = "half_done_rows"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        memory.kv_set(world, "added", "by a refused call")
        memory.kv_delete(world, "fresh")
        memory.kv_delete(world, "old")
        memory.write_scratchpad(world, " and a refused call", replace=False)
        world.transfer(BANK, OWNER, 1, "refused")
        world.deliver_email("someone@example.com", "Half done", "This letter never came.")
        world.set_clock(world.day, world.minute + 7)
        raise WorldError("refused after changing rows")


HALF_DONE_TOOLS: dict[str, type[Tool]] = {tool.name: tool for tool in (HalfDone, HalfDoneRows)}


def with_half_done_tools(env) -> None:
    """Let the env's simulation run the half-done tools (after reset or resume)."""
    env.simulation.tools.update(HALF_DONE_TOOLS)


def memory_view(env) -> list[tuple[str, str, str]]:
    return sorted((item.kind, item.key, item.value) for item in env.simulation.world.memory)
