"""Each tool through the env: what it returns, what it changes, what it costs in time."""

from __future__ import annotations

import json

import gymnasium
import pytest

import tycoon  # noqa: F401
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools import TOOLS

DESIGN_TOOL_NAMES = {
    "send_email", "read_inbox", "search_web", "send_payment", "get_balance",
    "get_storage_inventory", "get_machine_inventory", "stock_machine", "set_price",
    "collect_cash", "wait_for_next_day", "scratchpad_write", "scratchpad_read", "kv_set",
    "kv_get", "kv_delete", "memory_add", "memory_search", "list_files", "read_file",
    "write_file",
}  # fmt: skip


@pytest.fixture
def env():
    env = gymnasium.make("tycoon/VendingClassic-v0")
    env.reset(seed=5)
    yield env
    env.close()


def step(env, name: str, **arguments):
    observation, _, _, _, info = env.step(json.dumps({"name": name, "arguments": arguments}))
    return observation, info


def world(env):
    return env.unwrapped.simulation.world


def test_every_design_tool_exists_with_a_generated_schema() -> None:
    assert set(TOOLS) == DESIGN_TOOL_NAMES
    for name, tool in TOOLS.items():
        schema = tool.openai_schema()
        assert schema["function"]["name"] == name
        assert schema["function"]["parameters"]["type"] == "object"
        assert len(schema["function"]["description"]) > 30
        declared = set(schema["function"]["parameters"]["properties"])
        assert declared == set(tool.model_fields)


@pytest.mark.parametrize(
    ("name", "arguments", "minutes"),
    [
        ("get_balance", {}, TimeCost.MEMORY),
        ("scratchpad_read", {}, TimeCost.MEMORY),
        ("search_web", {"query": "soda"}, TimeCost.DIGITAL),
        ("set_price", {"sku": "cola-can-12oz", "price": 2.0}, TimeCost.DIGITAL),
        ("collect_cash", {}, TimeCost.PHYSICAL),
    ],
)
def test_time_cost(env, name, arguments, minutes) -> None:
    before = world(env).minute
    _, info = step(env, name, **arguments)
    assert not info["invalid_action"]
    assert world(env).minute - before == minutes


def test_running_past_midnight_ends_the_day(env) -> None:
    for _ in range(20):  # 15 x 75 min from 06:00 passes midnight
        observation, info = step(env, "collect_cash")
        if info["day"] == 2:
            break
    assert info["day"] == 2 and info["time"] == "06:00"
    assert "past midnight" in observation


def test_scratchpad_kv_and_notes_round_trip(env) -> None:
    step(env, "scratchpad_write", text="buy cola. ")
    step(env, "scratchpad_write", text="sell chips.")
    assert step(env, "scratchpad_read")[0] == "buy cola. sell chips."
    step(env, "scratchpad_write", text="fresh", mode="replace")
    assert step(env, "scratchpad_read")[0] == "fresh"

    step(env, "kv_set", key="best supplier", value="sales@a.example")
    assert step(env, "kv_get", key="best supplier")[0] == "sales@a.example"
    step(env, "kv_set", key="best supplier", value="sales@b.example")
    assert step(env, "kv_get", key="best supplier")[0] == "sales@b.example"
    assert "Deleted" in step(env, "kv_delete", key="best supplier")[0]
    assert "No value" in step(env, "kv_get", key="best supplier")[0]

    step(env, "memory_add", text="Bluebird Supply sells cola cheaply and delivers in 2 days")
    step(env, "memory_add", text="The owner prefers weekly summaries")
    found = step(env, "memory_search", query="who sells cola?")[0]
    assert found.splitlines()[0].endswith("delivers in 2 days")


def test_files_write_read_list_and_append(env) -> None:
    step(env, "write_file", path="plans/week1.md", content="order cola")
    step(env, "write_file", path="/plans/week1.md", content=" and chips", mode="append")
    assert step(env, "read_file", path="plans/./week1.md")[0] == "order cola and chips"
    listing, _ = step(env, "list_files", directory="plans")
    assert listing.splitlines() == ["/plans/week1.md"]
    assert "/notes/operations.md" in step(env, "list_files")[0]


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/../../x", "a/../../b", "", "bad\\path", "x" * 300, "\x00"]
)
def test_paths_outside_the_file_system_are_refused(env, path) -> None:
    before = env.unwrapped.state_hash()
    observation, info = step(env, "write_file", path=path, content="x")
    assert info["invalid_action"], observation
    assert observation.startswith("Error:")
    assert env.unwrapped.state_hash() == before


def test_stock_machine_respects_size_capacity_and_storage(env) -> None:
    w = world(env)
    small = next(p for p in w.products.values() if p.size == "small")
    large = next(p for p in w.products.values() if p.size == "large")
    w.add_to_storage(small.sku, 40, 50)
    w.add_to_storage(large.sku, 5, 90)
    env.unwrapped.simulation.commit_world_changes()

    observation, info = step(env, "stock_machine", sku=small.sku, quantity=40)
    assert info["tool_result"]["moved"] == 15  # one small slot holds 15
    assert info["tool_result"]["row"] in (1, 2)
    observation, info = step(env, "stock_machine", sku=large.sku, quantity=3, row=1, col=2)
    assert info["invalid_action"] and "small" in observation
    observation, info = step(env, "stock_machine", sku=large.sku, quantity=10, row=3, col=1)
    assert info["tool_result"]["moved"] == 5
    assert w.storage[large.sku].quantity == 0
    observation, info = step(env, "stock_machine", sku=large.sku, quantity=1)
    assert info["invalid_action"] and "No " in observation


def test_set_price_and_collect_cash_move_money_through_the_ledger(env) -> None:
    w = world(env)
    _, info = step(env, "set_price", sku="cola-can-12oz", price=2.25)
    assert w.price_of("cola-can-12oz") == 225
    w.transfer("customers", "machine_cash", 1234, "cash_sales")
    env.unwrapped.simulation.commit_world_changes()
    bank = w.balance("bank")
    _, info = step(env, "collect_cash")
    assert info["tool_result"]["collected_cents"] == 1234
    assert w.balance("bank") == bank + 1234 and w.balance("machine_cash") == 0
