"""`inspect eval tycoon/vending` (inspect-ai's own CLI, found through the entry point)
against the loopback OpenAI server; the eval log is read back with inspect's API, and
`inspect view` serves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log
from openai_server import FakeOpenAIServer
from policy import SCRIPT, scripted_reply
from servers import free_port

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


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_inspect_view_serves_the_episode_transcript(tmp_path):
    db = tmp_path / "view.db"
    with FakeOpenAIServer(default=scripted_reply) as llm:
        result = _inspect_eval(tmp_path, llm.base_url, "-T", "seeds=4", "-T", "max_steps=4",
                               "-T", f"db={db}")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    port = free_port()
    view = subprocess.Popen(
        [INSPECT, "view", "--log-dir", str(tmp_path / "logs"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page = _get(base + "/")
                break
            except OSError:
                assert view.poll() is None and time.monotonic() < deadline, "inspect view died"
                time.sleep(0.3)
        assert status == 200 and b"<html" in page.lower()  # the viewer's page
        status, listing = _get(base + "/api/log-files")
        assert status == 200, listing
        [name] = [entry["name"] for entry in json.loads(listing)["files"]]
        status, body = _get(f"{base}/api/logs/{urllib.parse.quote(name, safe='')}")
        assert status == 200, body[:500]
        [sample] = json.loads(body)["samples"]
        tools = [m for m in sample["messages"] if m["role"] == "tool"]
        assert [m["function"] for m in tools] == [name for name, _ in SCRIPT]
        assert tools[1]["content"].startswith("Error:")  # the transcript, tycoon's words
    finally:
        view.terminate()
        view.wait(timeout=30)
