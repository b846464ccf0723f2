"""`tycoon rollout --workers 2` (now Ray actors) as a user runs it, in a real process with
its own local Ray: an actor killed mid-run costs nothing, the command ends cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import func, select

from tycoon.envs.world.schema import LlmCall, Step
from tycoon.envs.world.store import WorldStore


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        with contextlib.suppress(FileNotFoundError):
            for task in Path(f"/proc/{parent}/task").iterdir():
                children = (task / "children").read_text().split()
                found.extend(map(int, children))
                frontier.extend(map(int, children))
    return found


def env_runner_pids(pid: int) -> list[int]:
    pids = []
    for child in descendants(pid):
        with contextlib.suppress(FileNotFoundError):
            if Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"ray::EnvRunner"):
                pids.append(child)
    return pids


def count(db: Path, table) -> int:
    store = WorldStore(db)
    try:
        with store.session() as session:
            return int(session.scalar(select(func.count()).select_from(table)))
    finally:
        store.dispose()


@pytest.mark.slow  # starts its own Ray (~10 s) and runs 160 model calls
def test_rollout_command_survives_a_killed_actor_and_finishes_every_episode(tmp_path) -> None:
    db = tmp_path / "cli.db"
    with FakeOpenAIServer(lambda body: Reply.tool_call("get_balance", delay=0.05)) as server:
        command = [
            sys.executable, "-m", "tycoon.cli", "rollout", "--agent", "openai",
            "--model", "fake-model", "--base-url", server.base_url, "--db", str(db),
            "--no-progress", "--backoff", "0.01", "--timeout", "5", "--max-steps", "40",
            "--episodes", "4", "--workers", "2", "--concurrency", "2",
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if db.exists() and count(db, Step) >= 12 and len(env_runner_pids(process.pid)) == 2:
                    break
                time.sleep(0.1)
            os.kill(env_runner_pids(process.pid)[0], signal.SIGKILL)
            out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err[-3000:]
    assert out.count("step_limit") == 4, out
    store = WorldStore(db)
    with store.session() as session:
        for episode in store.list_episodes():
            steps = session.scalars(select(Step.id).where(Step.episode_id == episode.id))
            calls = session.scalars(select(LlmCall.step).where(LlmCall.episode_id == episode.id))
            assert sorted(steps) == list(range(1, 41)), episode.id
            assert sorted(calls) == list(range(1, 41)), episode.id  # one call per step
    assert sorted(e.seed for e in store.list_episodes()) == [0, 1, 2, 3]
