"""Gymnasium conformance of every registered vending id, and the tool contract."""

from __future__ import annotations

import json
import re

import gymnasium
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending.env import VendingEnv

ENV_IDS = ("tycoon/VendingClassic-v0", "tycoon/VendingYear-v0")

# DESIGN.md, "Tool names are a contract"
DESIGN_TOOLS = [
    "send_email",
    "read_inbox",
    "search_web",
    "send_payment",
    "get_balance",
    "get_storage_inventory",
    "get_machine_inventory",
    "stock_machine",
    "set_price",
    "collect_cash",
    "wait_for_next_day",
    "scratchpad_write",
    "scratchpad_read",
    "kv_set",
    "kv_get",
    "kv_delete",
    "memory_add",
    "memory_search",
    "list_files",
    "read_file",
    "write_file",
]
JSON_SCHEMA_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


def test_registered_ids():
    for env_id in ENV_IDS:
        assert env_id in gymnasium.registry
    assert gymnasium.spec("tycoon/VendingClassic-v0").max_episode_steps == 2000


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_passes(env_id):
    env = gymnasium.make(env_id)
    assert isinstance(env.unwrapped, VendingEnv)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spaces_and_observations(env_id):
    env = gymnasium.make(env_id)
    assert isinstance(env.action_space, spaces.Text)
    assert isinstance(env.observation_space, spaces.Text)
    observation, info = env.reset(seed=3)
    assert env.observation_space.contains(observation)
    for action in (
        json.dumps({"name": "read_inbox", "arguments": {}}),
        {"name": "get_balance", "arguments": {}},
        {"function": {"name": "list_files", "arguments": "{}"}},  # OpenAI's shape
        json.dumps({"name": "search_web", "arguments": {"query": "snacks wholesale"}}),
        "not json at all",
        json.dumps({"name": "write_file", "arguments": {"path": "x.md", "content": "ünï €"}}),
        json.dumps({"name": "read_file", "arguments": {"path": "x.md"}}),
        json.dumps({"name": "kv_set", "arguments": {"key": "k", "value": "中文 🙂 \x07"}}),
        json.dumps({"name": "kv_get", "arguments": {"key": "k"}}),  # characters outside CHARSET
        json.dumps({"name": "wait_for_next_day", "arguments": {}}),
    ):
        observation, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(observation), (action, observation)
        assert isinstance(reward, float)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        for key in ("day", "time", "step", "bank_balance", "net_worth", "invalid_action"):
            assert key in info
    # an action sampled from the action space is handled (as an invalid action)
    env.action_space.seed(0)
    observation, *_, info = env.step(env.action_space.sample())
    assert info["invalid_action"]
    assert env.observation_space.contains(observation)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observation_is_truncated_to_the_space(env_id):
    env = gymnasium.make(env_id, config={"max_observation_chars": 2000}).unwrapped
    env.reset(seed=1)
    text = "y" * 19_000
    env.step({"name": "write_file", "arguments": {"path": "big.txt", "content": text}})
    observation, *_ = env.step({"name": "read_file", "arguments": {"path": "big.txt"}})
    assert len(observation) <= 2000
    assert env.observation_space.contains(observation)
    assert observation.endswith("[... truncated]")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_info_lists_the_design_tools(env_id):
    env = gymnasium.make(env_id)
    observation, info = env.reset(seed=0)
    names = [schema["function"]["name"] for schema in info["tools"]]
    assert len(info["tools"]) == 21
    assert names == DESIGN_TOOLS
    for name in DESIGN_TOOLS:
        assert name in observation  # the welcome names the tools too
    assert info["bank_balance"] == 500.0
    assert info["day"] == 1 and info["time"] == "06:00" and info["step"] == 0
    assert info["invalid_action"] is False


def _check_json_schema(schema: dict, where: str) -> None:
    assert isinstance(schema, dict), where
    if "$ref" in schema:
        return
    if "anyOf" in schema:
        for i, option in enumerate(schema["anyOf"]):
            _check_json_schema(option, f"{where}.anyOf[{i}]")
        return
    if "enum" in schema or "const" in schema:
        return
    assert schema.get("type") in JSON_SCHEMA_TYPES, f"{where}: type {schema.get('type')!r}"
    if schema["type"] == "array":
        _check_json_schema(schema.get("items", {"type": "string"}), f"{where}.items")


@pytest.mark.parametrize("tool", VendingEnv().tool_schemas, ids=lambda s: s["function"]["name"])
def test_tool_schema_is_openai_function_json(tool):
    assert set(tool) == {"type", "function"}
    assert tool["type"] == "function"
    function = tool["function"]
    assert set(function) <= {"name", "description", "parameters", "strict"}
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", function["name"])
    assert isinstance(function["description"], str) and len(function["description"]) >= 20
    assert "\n" not in function["description"]
    parameters = function["parameters"]
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False
    assert isinstance(parameters["properties"], dict)
    assert set(parameters.get("required", [])) <= set(parameters["properties"])
    assert "$defs" not in parameters or all(
        ref.startswith("#/$defs/") for ref in re.findall(r'"\$ref": "([^"]+)"', json.dumps(tool))
    )
    for name, prop in parameters["properties"].items():
        _check_json_schema(prop, f"{function['name']}.{name}")
        assert "title" not in prop
    json.loads(json.dumps(tool))  # plain JSON, nothing Python-only


def test_tool_schemas_are_byte_stable():
    # prefix caching needs the same bytes in every episode
    a = json.dumps(VendingEnv().tool_schemas, sort_keys=False)
    b = json.dumps(VendingEnv(preset="year").tool_schemas, sort_keys=False)
    assert a == b


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_ansi_shows_the_day(env_id):
    env = gymnasium.make(env_id, render_mode="ansi")
    env.reset(seed=5)
    text = env.render()
    assert isinstance(text, str)
    assert text.startswith("Day 1 (")
    assert "bank $500.00" in text and "net worth $500.00" in text
    assert len(text.splitlines()) == 2 + 4  # header, money, one line per machine row
    env.step(json.dumps({"name": "wait_for_next_day", "arguments": {}}))
    assert env.render().startswith("Day 2 (")
    assert "bank $498.00" in env.render()


def test_render_without_mode_returns_none():
    env = gymnasium.make("tycoon/VendingClassic-v0")
    env.reset(seed=5)
    assert env.render() is None


def test_bad_render_mode_and_preset_are_refused():
    with pytest.raises(ValueError, match="render_mode"):
        VendingEnv(render_mode="human")
    with pytest.raises(ValueError, match="preset"):
        VendingEnv(preset="nope")


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        VendingEnv().step(json.dumps({"name": "get_balance"}))


def test_classic_truncates_at_the_step_cap():
    env = gymnasium.make("tycoon/VendingClassic-v0", config={"max_steps": 3}).unwrapped
    env.reset(seed=2)
    results = [env.step({"name": "get_balance"}) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    assert results[-1][4]["status"] == "step_limit"
    observation, *_, info = env.step({"name": "get_balance"})
    assert info["invalid_action"] and observation.startswith("Error:")
    assert "over" in observation


def test_year_truncates_after_max_days():
    env = gymnasium.make("tycoon/VendingYear-v0", config={"max_days": 2}).unwrapped
    env.reset(seed=2)
    wait = {"name": "wait_for_next_day"}
    assert env.step(wait)[3] is False
    _, _, terminated, truncated, info = env.step(wait)
    assert truncated and not terminated
    assert info["status"] == "finished" and info["day"] == 3
