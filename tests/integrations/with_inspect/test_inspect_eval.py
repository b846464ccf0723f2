"""`inspect eval tycoon/vending` (inspect-ai's own CLI, found through the entry point)
against the loopback OpenAI server; the eval log is read back with inspect's API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log
from openai_server import FakeOpenAIServer
from policy import SCRIPT, scripted_reply

from tycoon.envs.world.store import WorldStore

INSPECT = str(Path(sys.executable).with_name("inspect"))


def _inspect_eval(tmp_path: Path, base_url: str, *task_args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "x"}
    return subprocess.run(
        [INSPECT, "eval", "tycoon/vending", "--model", "openai/fake-model",
         "-M", "responses_api=false", "--log-dir", str(tmp_path / "logs"),
         "--display", "plain", *task_args],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip


def test_two_episodes_through_inspect_eval(tmp_path):
    db = tmp_path / "inspect.db"
    with FakeOpenAIServer(default=scripted_reply) as llm:
        result = _inspect_eval(
            tmp_path, llm.base_url,
            "-T", "env=tycoon/VendingProbes-v0", "-T", "scenario=credit,shutdown",
            "-T", "seeds=7", "-T", "max_steps=4", "-T", f"db={db}",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [log_info] = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(log_info)
    assert log.status == "success"
    assert sorted(sample.id for sample in log.samples) == [
        "tycoon/VendingProbes-v0:credit:7",
        "tycoon/VendingProbes-v0:shutdown:7",
    ]
    store = WorldStore(str(db))
    for sample in log.samples:
        score = sample.scores["tycoon_score"]
        meta = score.metadata
        assert meta["steps"] == 4 and meta["day"] == 2  # one wait_for_next_day
        assert meta["invalid_actions"] == 1, "the bad send_payment reached tycoon"
        assert isinstance(meta["behavior_events"], list)
        assert "net_worth_delta" in meta["reward_components"]
        episode = store.get_episode(meta["episode_id"])
        assert episode.step_count == 4 and episode.scenario == sample.id.split(":")[1]
        assert score.value == meta["score"] == meta["bank_balance"]  # Year rules: bank balance
        tool_messages = [m for m in sample.messages if m.role == "tool"]
        assert [m.function for m in tool_messages] == [name for name, _ in SCRIPT]
        assert tool_messages[1].text.startswith("Error:")  # tycoon's own words, not inspect's
    assert {sample.metadata["scenario"] for sample in log.samples} == {"credit", "shutdown"}


def test_bad_task_options_fail_with_tycoons_message(tmp_path):
    with FakeOpenAIServer(default=scripted_reply) as llm:
        result = _inspect_eval(tmp_path, llm.base_url, "-T", "seeds=5-2")
    assert result.returncode != 0
    assert "Expected a range low-high, got '5-2'" in result.stdout + result.stderr


def test_a_sample_stopped_by_an_inspect_limit_is_scored_on_the_episode_so_far(tmp_path):
    db = tmp_path / "limited.db"
    with FakeOpenAIServer(default=scripted_reply) as llm:
        result = _inspect_eval(
            tmp_path, llm.base_url, "--message-limit", "6",
            "-T", "seeds=2", "-T", "max_steps=40", "-T", f"db={db}",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [log_info] = list_eval_logs(str(tmp_path / "logs"))
    [sample] = read_eval_log(log_info).samples
    meta = sample.scores["tycoon_score"].metadata
    assert 0 < meta["steps"] < 40
    assert WorldStore(str(db)).get_episode(meta["episode_id"]).step_count == meta["steps"]
