"""tycoon through SkyRL-gym's own API (`skyrl_gym.make`, `init`, `step`), with text
actions from the loopback OpenAI server and task rows from `tycoon dataset`."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import skyrl_gym
from openai import OpenAI
from openai_server import FakeOpenAIServer
from policy import SCRIPT, scripted_text_reply

from tycoon.envs.world.store import WorldStore
from tycoon.integrations.skyrl import TycoonTextEnv, register


def _dataset(tmp_path) -> list[dict]:
    out = tmp_path / "tasks.parquet"
    result = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", "dataset", "--seeds", "3-4", "--max-steps", "4",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return pq.read_table(out).to_pylist()


def _episode(row: dict, db: str, llm: FakeOpenAIServer) -> tuple[list[dict], float, dict]:
    env = skyrl_gym.make("tycoon", env_config={"db": db}, extras=row)
    assert isinstance(env, TycoonTextEnv)
    client = OpenAI(base_url=llm.base_url, api_key="x")
    messages, _ = env.init(row["prompt"])
    total, done, metadata = 0.0, False, {}
    while not done:
        reply = client.chat.completions.create(model="fake-model", messages=messages)
        text = reply.choices[0].message.content
        messages.append({"role": "assistant", "content": text})
        output = env.step(text)
        total += output["reward"]
        done = output["done"]
        metadata = output["metadata"]
        messages.extend(output["observations"])
    metrics = env.get_metrics()
    env.close()
    return messages, total, {"last": metadata, **metrics}


def test_two_episodes_from_the_dataset_through_skyrl_gym(tmp_path):
    register()
    register()  # idempotent
    rows = _dataset(tmp_path)
    db = str(tmp_path / "skyrl.db")
    with FakeOpenAIServer(default=scripted_text_reply) as llm:
        results = [_episode(row, db, llm) for row in rows]
    for messages, _total, metrics in results:
        assert messages[0]["role"] == "system" and "vending machine" in messages[0]["content"]
        assert messages[1]["role"] == "user" and "Bank balance: $500.00" in messages[1]["content"]
        assert metrics["steps"] == 4  # max_steps of the task row ended it
        assert metrics["invalid_actions"] == 1  # the script's bad send_payment reached tycoon
        assert metrics["day"] == 2  # one wait_for_next_day
        assert metrics["last"]["tool"] == SCRIPT[3][0]
        assert "net_worth_delta" in metrics["last"]["reward_components"]
    episodes = WorldStore(db).list_episodes()
    assert [(e.seed, e.step_count) for e in episodes] == [(3, 4), (4, 4)]


def test_text_without_a_tool_call_reaches_tycoon_as_an_invalid_action(tmp_path):
    register()
    row = _dataset(tmp_path)[0]
    env = skyrl_gym.make("tycoon", env_config={"db": str(tmp_path / "t.db")}, extras=row)
    env.init(row["prompt"])
    output = env.step("I think I should wait and see.")
    assert output["metadata"]["invalid_action"] is True
    assert output["metadata"]["parse_status"] == "no_call"
    assert output["observations"][0]["content"].startswith("Error:")
    assert env.get_metrics()["invalid_actions"] == 1
    env.close()
