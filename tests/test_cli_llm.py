"""`tycoon run/rollout/export/serve` with --agent openai, against a real loopback server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import func, select

from tycoon.cli import main
from tycoon.commands.serve import TOOL_CALL_PARSERS, tool_call_parser, wait_healthy
from tycoon.envs.world.schema import Email, Episode, LlmCall, Step
from tycoon.envs.world.store import WorldStore

CANARY = "sk-tycoon-canary-5c1d9e"


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def llm_args(server: FakeOpenAIServer, db: Path, *extra: str) -> list[str]:
    return [
        "--agent",
        "openai",
        "--model",
        "fake-model",
        "--base-url",
        server.base_url,
        "--db",
        str(db),
        "--no-progress",
        "--backoff",
        "0.01",
        "--timeout",
        "2",
        *extra,
    ]


def count(db: Path, table) -> int:
    store = WorldStore(db)
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)))


def test_run_an_episode_end_to_end(server, tmp_path, capsys) -> None:
    db = tmp_path / "run.db"
    assert main(["run", *llm_args(server, db, "--max-steps", "6")]) == 0
    out = capsys.readouterr().out
    assert "status       step_limit" in out and "llm calls    6" in out
    assert count(db, Step) == 6 and count(db, LlmCall) == 6


def test_the_api_key_is_used_but_never_stored_logged_or_exported(
    server, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("TYCOON_CANARY_KEY", CANARY)
    db, out = tmp_path / "key.db", tmp_path / "key.jsonl"
    code = main(
        [
            "run",
            *llm_args(
                server,
                db,
                "--max-steps",
                "3",
                "--api-key-env",
                "TYCOON_CANARY_KEY",
                "--out",
                str(tmp_path / "s.json"),
            ),
        ]
    )
    assert code == 0
    assert main(["export", "--db", str(db), "--out", str(out), "--no-progress"]) == 0
    assert all(r.headers["authorization"] == f"Bearer {CANARY}" for r in server.completions)
    captured = capsys.readouterr()
    WorldStore(db).dispose()
    for path in tmp_path.iterdir():
        assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in captured.out + captured.err


def test_bad_flags_fail_clearly_and_write_nothing(server, tmp_path, capsys, monkeypatch) -> None:
    db = tmp_path / "bad.db"
    monkeypatch.delenv("TYCOON_ABSENT_KEY", raising=False)
    assert main(["run", "--agent", "openai", "--db", str(db), "--no-progress"]) == 2
    assert "--agent openai needs --model" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                "--agent",
                "openai",
                "--model",
                "gpt-x",
                "--api-key-env",
                "TYCOON_ABSENT_KEY",
                "--db",
                str(db),
                "--no-progress",
            ]
        )
        == 2
    )
    assert "$TYCOON_ABSENT_KEY" in capsys.readouterr().err
    assert main(["run", *llm_args(server, db, "--context-tokens", "10")]) == 2
    assert "--context-tokens" in capsys.readouterr().err
    assert count(db, Episode) == 0 and server.completions == []


def test_a_run_that_loses_the_server_stops_resumably_and_resume_finishes_it(
    server, tmp_path, capsys
) -> None:
    db = tmp_path / "pause.db"
    server.script(*[Reply.tool_call("get_balance")] * 3, *[Reply.http_error(502)] * 3)
    code = main(["run", *llm_args(server, db, "--max-steps", "8", "--max-retries", "2")])
    err = capsys.readouterr().err
    assert code == 3
    assert "HTTP 502" in err and "--resume 1" in err
    assert count(db, Step) == 3
    assert main(["run", *llm_args(server, db, "--resume", "1")]) == 0
    assert "status       step_limit" in capsys.readouterr().out
    assert count(db, Step) == 8 and count(db, LlmCall) == 8


def test_a_killed_run_resumes_with_nothing_lost(tmp_path) -> None:
    db = tmp_path / "kill.db"
    with FakeOpenAIServer(lambda body: Reply.tool_call("get_balance", delay=0.05)) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "tycoon.cli", "run", *llm_args(server, db, "--max-steps", "60")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if db.exists() and count(db, Step) >= 8:
                    break
                time.sleep(0.1)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=10)
        done = count(db, Step)
        assert 8 <= done < 60
        server.default = lambda body: Reply.tool_call("read_inbox")
        assert main(["run", *llm_args(server, db, "--resume", "1")]) == 0
    store = WorldStore(db)
    with store.session() as session:
        steps = list(session.scalars(select(Step).order_by(Step.id)))
        calls = list(session.scalars(select(LlmCall).order_by(LlmCall.id)))
    assert [s.id for s in steps] == list(range(1, 61))
    assert [c.step for c in calls] == list(range(1, 61))  # one call per step, none lost
    assert {s.tool for s in steps[:done]} == {"get_balance"}
    assert steps[-1].tool == "read_inbox"


def test_rollout_runs_episodes_concurrently_with_their_own_seeds(server, tmp_path, capsys) -> None:
    db = tmp_path / "rollout.db"
    args = llm_args(server, db, "--max-steps", "4", "--seed", "100")
    assert (
        main(
            [
                "rollout",
                *args,
                "--episodes",
                "6",
                "--concurrency",
                "3",
                "--out",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    store = WorldStore(db)
    episodes = store.list_episodes()
    assert sorted(e.seed for e in episodes) == list(range(100, 106))
    assert all(e.status == "step_limit" and e.step_count == 4 for e in episodes)
    assert count(db, LlmCall) == 24
    results = json.loads((tmp_path / "r.json").read_text())
    assert len(results) == 6 and all(r["stopped"] is None for r in results)
    assert "6 episode(s), 24 steps" in capsys.readouterr().out


def test_export_carries_what_a_trainer_needs(server, tmp_path) -> None:
    db, out = tmp_path / "export.db", tmp_path / "episodes.jsonl"
    server.script(
        Reply.tool_call("get_balance"),
        Reply.text("thinking..."),
        Reply.text('{"name": "read_inbox", "arguments": {}}'),
    )
    assert (
        main(["run", *llm_args(server, db, "--max-steps", "4", "--return-token-ids", "--logprobs")])
        == 0
    )
    assert (
        main(["run", "--agent", "idle", "--db", str(db), "--max-steps", "3", "--no-progress"]) == 0
    )
    assert main(["export", "--db", str(db), "--out", str(out), "--no-progress"]) == 0
    llm, idle = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(llm["tools"]) == 21
    roles = [m["role"] for m in llm["messages"]]
    assert roles[:2] == ["system", "user"]
    assert roles.count("assistant") == 5  # 4 calls with a tool call, 1 without
    assert llm["messages"][-1]["role"] == "tool"
    for i, message in enumerate(llm["messages"]):
        for call in message.get("tool_calls") or []:
            assert llm["messages"][i + 1]["tool_call_id"] == call["id"]
    assert [s["step"] for s in llm["steps"]] == [1, 2, 3, 4]
    assert all("reward_components" in s for s in llm["steps"])
    assert [c["parse_status"] for c in llm["llm_calls"]][:3] == [
        "ok",
        "no_call",
        "recovered_from_text",
    ]
    for call in llm["llm_calls"]:
        assert len(call["prompt_token_ids"]) == call["prompt_tokens"]
        assert (
            len(call["completion_token_ids"]) == len(call["logprobs"]) == call["completion_tokens"]
        )
        assert llm["messages"][call["message_index"]]["role"] == "assistant"
    assert 0 < llm["prefix_reuse_mean"] < 1
    assert idle["llm_calls"] == [] and len(idle["steps"]) == 3
    assert [m["role"] for m in idle["messages"]] == ["assistant", "tool"] * 3


def test_export_of_a_missing_episode_is_an_error(tmp_path, capsys) -> None:
    WorldStore(tmp_path / "none.db").dispose()  # a database without episodes
    assert main(["export", "42", "--db", str(tmp_path / "none.db")]) == 2
    assert "no episode 42" in capsys.readouterr().err


def test_serve_without_vllm_says_how_to_install(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if not installed, even where it is
    assert main(["serve", "Qwen/Qwen2.5-7B-Instruct"]) == 2
    assert "pip install -e '.[vllm]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "parser"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", "hermes"),
        ("NousResearch/Hermes-3-Llama-3.1-8B", "hermes"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3_json"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3_coder"),
        ("someone/unknown-model", None),
    ],
)
def test_serve_picks_the_tool_call_parser_for_the_family(model, parser) -> None:
    assert tool_call_parser(model) == parser
    assert all(key == key.lower() for key, _ in TOOL_CALL_PARSERS)


def test_serve_dry_run_prints_the_command_and_base_url(capsys) -> None:
    assert (
        main(
            [
                "serve",
                "meta-llama/Llama-3.1-8B-Instruct",
                "--port",
                "8123",
                "--dry-run",
                "--tool-call-parser",
                "pythonic",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "vllm serve meta-llama/Llama-3.1-8B-Instruct" in out
    assert "--enable-auto-tool-choice --tool-call-parser pythonic" in out
    assert "base URL: http://127.0.0.1:8123/v1" in out
    assert main(["serve", "someone/unknown-model", "--dry-run"]) == 2
    assert "--tool-call-parser NAME" in capsys.readouterr().err


def test_serve_waits_for_health(server) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert wait_healthy(f"http://127.0.0.1:{server.port}/health", sleeper, 5)
    finally:
        sleeper.kill()
        sleeper.wait()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not wait_healthy(f"http://127.0.0.1:{server.port}/health", dead, 5)


def test_supplier_model_flags_are_checked_before_anything_runs(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    db = tmp_path / "suppliers.db"
    code = main(["run", "--db", str(db), "--no-progress", "--supplier-model", "m"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--supplier-model" in err and "OPENAI_API_KEY" in err
    assert not db.exists() or count(db, Step) == 0


def test_run_with_llm_suppliers_mails_their_text(server, tmp_path, capsys) -> None:
    draft_mark = "Draft reply (reword it; keep every fact):\n\n"

    def reply(body: dict) -> Reply:
        if body.get("tools"):  # the agent
            return Reply.tool_call("get_balance")
        draft = body["messages"][-1]["content"].split(draft_mark, 1)[1]
        return Reply.text("Written by the supplier model.\n\n" + draft)

    server.default = reply
    db = tmp_path / "suppliers.db"
    args = ["--db", str(db), "--no-progress", "--max-days", "4"]
    assert main(["run", *args, "--supplier-model", "m", "--base-url", server.base_url]) == 0
    store = WorldStore(db)
    with store.session() as session:
        bodies = session.scalars(select(Email.body).where(Email.folder == "inbox"))
        assert any(b.startswith("Written by the supplier model.") for b in bodies)
