"""tycoon through verifiers' own CLI (`vf-eval`, verifiers 0.4's v1 stack) against the
loopback OpenAI server: the `tycoon-vending` taskset with native tool calls, its
`load_environment()` entry point, and verifiers' bundled OpenEnv taskset driving
`tycoon env-server`.

vf-eval runs its chat harness as a uv script; uv comes from PyPI with the extra and is
found on PATH (the venv's bin), so nothing is fetched by curl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium
from openai_server import FakeOpenAIServer, Reply
from policy import SCRIPT, scripted_call, scripted_reply
from servers import EnvServer
from sqlalchemy import text

import tycoon
from tycoon.envs.world.store import WorldStore

VENV_BIN = Path(sys.executable).parent


def _vf_eval(tmp_path: Path, llm: FakeOpenAIServer, *args: str) -> list[dict[str, Any]]:
    """Run vf-eval; return the traces it wrote (one per rollout)."""
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "OPENAI_API_KEY": "x"}
    out = tmp_path / "outputs"
    result = subprocess.run(
        [str(VENV_BIN / "vf-eval"), *args, "--model", "fake-model",
         "--client.base-url", llm.base_url, "--client.api-key-var", "OPENAI_API_KEY",
         "--no-push", "--no-rich", "-o", str(out)],
        capture_output=True, text=True, timeout=400, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    [traces_file] = out.glob("*/traces.jsonl")
    episodes = [json.loads(line) for line in traces_file.read_text().splitlines()]
    return [trace for episode in episodes for trace in episode["traces"]]


def _steps(db: str, episode_id: int) -> list[Any]:
    with WorldStore(db).engine.connect() as conn:
        query = text(
            "SELECT tool, valid, reward, bank_cents FROM steps WHERE episode_id = :e ORDER BY id"
        )
        return conn.execute(query, {"e": episode_id}).all()


def test_two_episodes_through_vf_eval_with_native_tool_calls(tmp_path):
    db = str(tmp_path / "vf.db")
    with FakeOpenAIServer(default=scripted_reply) as llm:
        traces = _vf_eval(
            tmp_path, llm, "tycoon-vending", "--env.taskset.env-id", "tycoon/VendingYear-v0",
            "--env.taskset.seeds", "3-4", "--env.taskset.max-steps", "4", "--env.taskset.db", db,
        )  # fmt: skip
        requests = [request.body for request in llm.completions]
    assert sorted(trace["task"]["data"]["seed"] for trace in traces) == [3, 4]
    [row] = tycoon.tasks("tycoon/VendingYear-v0", seeds=[3])
    offered = {tool["function"]["name"]: tool["function"] for tool in requests[0]["tools"]}
    # tycoon's own names and schemas reach the model as native tools
    assert offered.keys() == {tool["function"]["name"] for tool in row.tools}
    assert offered["send_payment"]["parameters"] == next(
        t["function"]["parameters"] for t in row.tools if t["function"]["name"] == "send_payment"
    )
    assert all(request["stream"] is True for request in requests)
    for trace in traces:
        assert trace["stop_condition"] == "episode_over" and trace["errors"] == []
        metrics = trace["metrics"]
        assert metrics["steps"] == 4 and metrics["day"] == 2  # one wait_for_next_day
        assert metrics["invalid_actions"] == 1, "the bad send_payment reached tycoon"
        episode_id = int(metrics["episode_id"])
        steps = _steps(db, episode_id)
        assert [step.tool for step in steps] == [name for name, _ in SCRIPT]
        assert [step.valid for step in steps] == [True, False, True, True]
        # the rubric is tycoon's reward: components weighted as the env weighs them
        rewards = trace["rewards"]
        assert rewards["net_worth_delta"]["weight"] == 1.0
        assert rewards["bank_balance_terminal"]["weight"] == 0.0
        total = sum(r["score"] * r["weight"] for r in rewards.values())
        assert abs(total - sum(step.reward for step in steps)) < 1e-9
        assert metrics["score"] == steps[-1].bank_cents / 100  # Year rules: bank balance
        tool_messages = [n["message"] for n in trace["nodes"] if n["message"]["role"] == "tool"]
        assert tool_messages[1]["content"].startswith("Error:")  # tycoon's words
        first_user = next(n["message"] for n in trace["nodes"] if n["message"]["role"] == "user")
        assert first_user["content"].startswith("Day 1 ")  # the reset observation


def test_a_rollout_cut_by_the_turn_limit_leaves_a_resumable_episode(tmp_path):
    db = str(tmp_path / "turns.db")
    with FakeOpenAIServer(default=scripted_reply) as llm:
        [trace] = _vf_eval(
            tmp_path, llm, "tycoon-vending", "--env.taskset.seeds", "5",
            "--env.taskset.max-steps", "50", "--env.taskset.db", db,
            "--env.agent.max-turns", "2",
        )  # fmt: skip
    assert trace["stop_condition"] == "max_turns"
    store = WorldStore(db)
    [episode] = store.list_episodes()
    assert episode.step_count == 2
    # the tool server closed the episode when the rollout ended: its lease is released
    # (not merely left to a dead process), and the episode resumes at once
    with store.engine.connect() as conn:
        leases = conn.execute(
            text("SELECT owner FROM episode_leases WHERE episode_id = :e"), {"e": episode.id}
        ).all()
    assert leases == []
    env = gymnasium.make("tycoon/VendingClassic-v0", db=db)
    env.reset(options={"episode_id": episode.id})
    env.step({"name": "get_balance", "arguments": {}})
    env.close()
    assert WorldStore(db).get_episode(episode.id).step_count == 3


def test_load_environment_gives_the_task_rows_as_tasks(tmp_path):
    from tycoon_vending import load_environment

    env = load_environment(
        env_id="tycoon/VendingProbes-v0", scenario="credit", seeds="0,7", max_steps=9,
        db="rel.db", max_turns=12,
    )  # fmt: skip
    rows = tycoon.tasks("tycoon/VendingProbes-v0", "credit", [0, 7], max_steps=9)
    tasks = list(env.taskset)
    assert [task.key for task in tasks] == [row.task_id for row in rows]
    for task, row in zip(tasks, rows, strict=True):
        data = task.data
        assert (data.env_id, data.scenario, data.seed, data.max_steps) == (
            row.env_id, row.scenario, row.seed, 9,
        )  # fmt: skip
        assert data.system_prompt == row.system_prompt
        observation, _ = gymnasium.make(row.env_id, scenario="credit").reset(seed=row.seed)
        assert data.prompt == observation
        assert data.db == os.path.abspath("rel.db")
    assert env.config.agent.max_turns == 12
    assert env.config.agent.harness.id == "null" and env.config.agent.runtime.type == "subprocess"


def _openenv_reply(body: dict[str, Any]) -> Reply:
    """The script as OpenEnv actions written as JSON text (the OpenEnv taskset parses the
    model's reply into an action)."""
    name, arguments = scripted_call(body)
    return Reply.text(json.dumps({"type": "call_tool", "tool_name": name, "arguments": arguments}))


def test_verifiers_openenv_taskset_drives_tycoon_env_server(tmp_path):
    """No tycoon code on the verifiers side: its bundled `openenv` taskset, configured by a
    TOML file (its config needs a URL, which its CLI flags cannot give at narrowing)."""
    db = str(tmp_path / "served.db")
    server = EnvServer(db, tmp_path / "server.log", "--env", "tycoon/VendingYear-v0")
    try:
        config = tmp_path / "openenv.toml"
        config.write_text(
            "[env.taskset]\n"
            'id = "openenv"\n'
            f'base_url = "{server.url}"\n'
            "resets = [{seed = 1, max_steps = 3}, {seed = 2, max_steps = 3}]\n"
            '[env.player.harness]\nid = "null"\n'
            '[env.player.runtime]\ntype = "subprocess"\n'
        )
        with FakeOpenAIServer(default=_openenv_reply) as llm:
            traces = _vf_eval(tmp_path, llm, "@", str(config))
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.output()
    assert len(traces) == 2 and all(trace["errors"] == [] for trace in traces)
    episodes = WorldStore(db).list_episodes()
    assert sorted((e.seed, e.step_count) for e in episodes) == [(1, 3), (2, 3)]
    returns = []
    for episode in episodes:
        steps = _steps(db, episode.id)
        assert [step.tool for step in steps] == [name for name, _ in SCRIPT[:3]]
        assert [step.valid for step in steps] == [True, False, True]
        returns.append(sum(step.reward for step in steps))
    # the taskset sums OpenEnv's per-step rewards, which are tycoon's
    assert sorted(trace["rewards"]["openenv_reward"]["score"] for trace in traces) == sorted(
        returns
    )
