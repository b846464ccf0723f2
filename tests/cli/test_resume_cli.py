"""`--resume` runs an episode as it was run, refuses what contradicts that, and Ctrl-C
says how to resume; `tycoon episodes` lists what a database holds. The runs Ctrl-C stops
and `episodes` on a missing database are real processes; the rest run in this one
(`main`: the `cli` fixture, resume_harness's in-process runs)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from resume_harness import deterministic_reply, run_uninterrupted
from resume_harness import tycoon_in_process as tycoon
from sqlalchemy import select, update

from tycoon.envs.world.schema import Episode
from tycoon.envs.world.store import WorldStore


def tycoon_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args], capture_output=True, text=True, timeout=300
    )


def reopen(db: str, episode_id: int, **values) -> None:
    """Mark a finished episode as still running (as if it had been killed)."""
    store = WorldStore(db)
    with store.engine.begin() as conn:
        conn.execute(update(Episode).where(Episode.id == episode_id).values(**values))
    store.dispose()


def test_resume_refuses_another_agent_model_or_env_naming_both_values(cli, tmp_path) -> None:
    db = str(tmp_path / "spec.db")
    with FakeOpenAIServer(deterministic_reply) as server:
        run_uninterrupted(
            db,
            ["--agent", "openai", "--model", "fake-model", "--base-url", server.base_url,
             "--env", "tycoon/VendingYear-v0", "--max-steps", "6"],
            in_process=True,
        )  # fmt: skip
    reopen(db, 1, status="running")
    for flags, message in [
        (["--agent", "baseline"], "--agent baseline (the episode's is openai)"),
        (["--model", "other-model"], "--model other-model (the episode's is fake-model)"),
        (
            ["--env", "tycoon/VendingClassic-v0"],
            "--env tycoon/VendingClassic-v0 (the episode's is tycoon/VendingYear-v0)",
        ),
        (["--context-tokens", "9000"], "--context-tokens 9000 (the episode's is 32000)"),
    ]:
        done = cli("run", "--db", db, "--resume", "1", "--no-progress", *flags)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert message in done.stderr
    store = WorldStore(db)
    assert store.get_episode(1).step_count == 6  # nothing ran
    spec = store.get_episode(1).run_spec
    assert spec["agent"] == "openai" and spec["model"] == "fake-model"
    assert spec["agent_settings"]["base_url"] == server.base_url
    assert "api_key" not in json.dumps(spec).replace("api_key_env", "")


def test_resume_without_env_runs_under_the_stored_rules(tmp_path) -> None:
    db = str(tmp_path / "year.db")
    # a Year episode with the idle agent, stopped by its step limit, then given more room
    first = run_uninterrupted(db, ["--agent", "idle", "--env", "tycoon/VendingYear-v0",
                                   "--max-days", "30", "--max-steps", "5"],
                              in_process=True)  # fmt: skip
    assert first.steps == 5
    reopen(db, 1, status="running")
    store = WorldStore(db)
    with store.engine.begin() as conn:
        spec = conn.execute(select(Episode.run_spec).where(Episode.id == 1)).scalar_one()
        spec["max_steps"] = None
        config = conn.execute(select(Episode.config).where(Episode.id == 1)).scalar_one()
        config["max_steps"] = None
        conn.execute(update(Episode).where(Episode.id == 1).values(run_spec=spec, config=config))
    out = tycoon("run", "--db", db, "--resume", "1", "--no-progress")
    assert "tycoon/VendingYear-v0, agent idle" in out
    episode = store.get_episode(1)
    assert (episode.status, episode.day, episode.step_count) == ("finished", 30, 30)
    # scored as Year scores (bank balance), not as Classic (net worth)
    assert "bank balance $440.00" in out


def test_resume_of_a_missing_or_ended_episode_is_one_line(cli, tmp_path) -> None:
    db = str(tmp_path / "ended.db")
    run_uninterrupted(db, ["--agent", "idle", "--max-days", "3"], in_process=True)
    missing = cli("run", "--db", db, "--resume", "99")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"tycoon: error: no episode 99 in {db}; `tycoon episodes --db {db}` lists them"
    ]
    rollout = cli("rollout", "--db", db, "--resume", "1")
    assert rollout.returncode == 2 and "episode 1 has already ended" in rollout.stderr
    assert len(rollout.stderr.strip().splitlines()) == 1


def test_rollout_resume_restores_each_episodes_spec(cli, tmp_path) -> None:
    db = str(tmp_path / "rollout.db")
    tycoon("rollout", "--db", db, "--agent", "random", "--seed", "7", "--episodes", "2",
           "--max-days", "4", "--no-progress")  # fmt: skip
    tycoon("rollout", "--db", db, "--agent", "idle", "--env", "tycoon/VendingYear-v0",
           "--episodes", "1", "--max-days", "6", "--no-progress")  # fmt: skip
    store = WorldStore(db)
    for episode_id, max_days in ((1, 8), (2, 8), (3, 9)):
        with store.engine.begin() as conn:  # give each room for more days
            spec, config = conn.execute(
                select(Episode.run_spec, Episode.config).where(Episode.id == episode_id)
            ).one()
            spec["max_days"] = config["max_days"] = max_days
            conn.execute(
                update(Episode)
                .where(Episode.id == episode_id)
                .values(run_spec=spec, config=config, status="running")
            )
    refused = cli("rollout", "--db", db, "--resume", "1,3", "--agent", "random")
    assert refused.returncode == 2
    assert "--agent random (the episode's is idle)" in refused.stderr
    tycoon("rollout", "--db", db, "--resume", "1,2,3", "--no-progress")
    episodes = {e.id: e for e in store.list_episodes()}
    assert [episodes[i].agent for i in (1, 2, 3)] == ["random", "random", "idle"]
    assert [episodes[i].day for i in (1, 2, 3)] == [8, 8, 9]
    assert episodes[3].env_id == "tycoon/VendingYear-v0"
    assert {episodes[i].status for i in (1, 2, 3)} == {"finished"}
    # each random episode ran on with the agent seed of its rollout: same as a fresh run
    fresh = str(tmp_path / "fresh.db")
    tycoon("rollout", "--db", fresh, "--agent", "random", "--seed", "7", "--episodes", "2",
           "--max-days", "8", "--no-progress")  # fmt: skip
    fresh_store = WorldStore(fresh)
    for episode_id in (1, 2):
        assert store.state_hash(episode_id) == fresh_store.state_hash(episode_id)


def _steps_committed(db: str) -> int:
    if not Path(db).exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("select coalesce(sum(step_count), 0) from episodes").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def _interrupt_after(args: list[str], db: str, steps: int) -> subprocess.CompletedProcess[str]:
    """Start `tycoon ARGS`, send SIGINT (Ctrl-C) once `steps` steps are committed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tycoon.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job (`pytest &`) starts with SIGINT ignored, and Python then
        # leaves it ignored: the run would finish as if Ctrl-C had never been pressed
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        # polled with raw sqlite3, read-only: a WorldStore per poll costs an engine and
        # its setup, time in which a loaded machine lets the run finish before the signal
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            if _steps_committed(db) >= steps:
                break
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def test_ctrl_c_during_run_prints_the_command_that_resumes(tmp_path) -> None:
    db = str(tmp_path / "ctrl-c.db")
    # long enough that the run cannot finish between the last poll and the signal
    run_args = ["--agent", "baseline", "--max-days", "300"]
    stopped = _interrupt_after(["run", "--db", db, "--no-progress", *run_args], db, 30)
    assert stopped.returncode == 130, stopped.stderr
    command = f"tycoon run --db {db} --resume 1"
    assert command in stopped.stderr
    assert "Traceback" not in stopped.stderr
    # the printed command (minus the program name) finishes it as if never interrupted
    tycoon(*shlex.split(command)[1:], "--no-progress")
    reference = run_uninterrupted(str(tmp_path / "reference.db"), run_args, in_process=True)
    store = WorldStore(db)
    assert store.state_hash(1) == reference.state_hash
    assert store.get_episode(1).step_count == reference.steps


def test_ctrl_c_during_rollout_prints_the_episode_ids_that_resume(tmp_path) -> None:
    db = str(tmp_path / "ctrl-c-rollout.db")
    args = ["rollout", "--db", db, "--no-progress", "--agent", "baseline", "--max-days", "60",
            "--episodes", "3", "--concurrency", "2"]  # fmt: skip
    stopped = _interrupt_after(args, db, 40)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    line = next(line for line in stopped.stderr.splitlines() if "--resume" in line)
    command = line.split("continue with: ", 1)[1]
    ids = command.split("--resume ", 1)[1].split(",")
    store = WorldStore(db)
    running = [str(e.id) for e in store.list_episodes() if e.status == "running"]
    assert ids == running and ids
    assert command == f"tycoon rollout --db {db} --resume {','.join(ids)}"
    if len(ids) < 3:  # a job not yet started is named by its seed
        assert "never started: seeds" in stopped.stderr
    tycoon(*shlex.split(command)[1:], "--no-progress")
    assert all(e.status == "finished" for e in store.list_episodes())


@pytest.mark.slow
def test_ctrl_c_during_an_arena_market_prints_the_command_that_resumes_it(tmp_path) -> None:
    db = str(tmp_path / "ctrl-c-arena.db")
    args = ["run", "--env", "tycoon/VendingArena-v0", "--agent", "baseline", "--agent", "idle",
            "--max-days", "60", "--db", db, "--no-progress"]  # fmt: skip
    stopped = _interrupt_after(args, db, 20)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    command = f"tycoon run --db {db} --env tycoon/VendingArena-v0 --resume 1"
    lines = [line for line in stopped.stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        f"interrupted: every finished step is in the database; continue with: {command}"
    ), stopped.stderr
    resumed = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *shlex.split(command)[1:], "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "finished" in resumed.stdout or "bankrupt" in resumed.stdout


def test_episodes_lists_every_episode_and_refuses_a_missing_database(tmp_path) -> None:
    db = str(tmp_path / "list.db")
    run_uninterrupted(db, ["--agent", "idle", "--max-days", "3", "--seed", "4"], in_process=True)
    run_uninterrupted(db, ["--agent", "random", "--env", "tycoon/VendingYear-v0",
                           "--max-steps", "5"], in_process=True)  # fmt: skip
    table = tycoon("episodes", "--db", db).splitlines()
    assert table[0].split() == [
        "id", "env", "scenario", "agent/model", "seed", "status", "day", "steps", "score",
    ]  # fmt: skip
    assert table[1].split() == [
        "1", "tycoon/VendingClassic-v0", "default", "idle", "4", "finished", "4", "3", "$494.00",
    ]  # fmt: skip
    assert table[2].split()[:4] == ["2", "tycoon/VendingYear-v0", "default", "random"]
    rows = [json.loads(line) for line in tycoon("episodes", "--db", db, "--json").splitlines()]
    assert [(r["id"], r["status"], r["steps"]) for r in rows] == [
        (1, "finished", 3),
        (2, "step_limit", 5),
    ]
    missing = tmp_path / "typo.db"
    done = tycoon_process("episodes", "--db", str(missing))  # the real entry point
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"tycoon: error: no database at {missing} (expected an existing SQLite file or a URL)"
    )
    assert not missing.exists()


def test_an_episode_recorded_without_the_agents_view_is_refused_not_resumed_inexactly(
    cli, tmp_path
) -> None:
    db = str(tmp_path / "legacy.db")
    run_uninterrupted(db, ["--agent", "baseline", "--max-steps", "12"], in_process=True)
    reopen(db, 1, status="running", run_spec=None, reset_info=None)  # as an older tycoon left it
    for command in ("run", "rollout"):
        done = cli(command, "--db", db, "--resume", "1", "--no-progress")
        assert done.returncode == (2 if command == "run" else 3), done.stderr
        assert "cannot resume exactly" in done.stderr
        assert "continue them with" not in done.stderr
    assert WorldStore(db).get_episode(1).step_count == 12  # nothing ran
