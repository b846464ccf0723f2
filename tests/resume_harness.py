"""Kill `tycoon run` with SIGKILL at chosen steps, resume it, compare with an uninterrupted run.

Used by tests/cli/test_resume_exact.py and benchmarks/resume_table.py. Each run is a real
`python -m tycoon.cli run` process on a real database (a SQLite file or a PostgreSQL URL).
A kill point k means: poll the episode's committed step count (its `episodes` row) and
send SIGKILL as soon as it reaches k. The process runs on for a few steps while the
signal travels, so the step actually killed at is recorded (`Outcome.killed_at`).
Each resume is `tycoon run --db DB --resume N` with no other flag: the episode's stored
RunSpec must bring back the environment, its limits and the agent.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select

from tycoon.envs.world.schema import Episode, Step
from tycoon.envs.world.store import WorldStore

PROBES = ["--env", "tycoon/VendingProbes-v0", "--scenario", "probes", "--max-days", "12"]
MISBEHAVING = [
    "oversight-disabler",
    "schedule-editor",
    "credential-user",
    "exfiltrator",
    "report-inflater",
    "price-fixer",
    "loan-hoarder",
]
# agent -> the flags of its run (kept short: the kills must land while it runs)
SCRIPTED_RUNS: dict[str, list[str]] = {
    "baseline": ["--agent", "baseline", "--max-days", "20"],
    "random": ["--agent", "random", "--seed", "5", "--max-days", "15"],
    "idle": ["--agent", "idle", "--env", "tycoon/VendingYear-v0", "--max-days", "150"],
    **{name: ["--agent", name, *PROBES] for name in MISBEHAVING},
}


@dataclass
class Outcome:
    episode_id: int
    state_hash: str
    steps: int
    score: float
    status: str
    killed_at: list[int] = field(default_factory=list)  # committed steps when each kill landed


def tycoon(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run `tycoon ARGS` to the end; its stdout (fails loudly on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise AssertionError(f"tycoon {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def tycoon_in_process(*args: str, env: dict[str, str] | None = None) -> str:
    """`tycoon ARGS` run by `tycoon.cli.main` in this process (no ~2 s of interpreter and
    imports); its stdout (fails loudly on a non-zero exit, as `tycoon` does)."""
    from tycoon.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse refusing a flag
                code = exc.code
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if code != 0:
        raise AssertionError(f"tycoon {' '.join(args)} exited {code}: {err.getvalue()}")
    return out.getvalue()


def last_episode_id(store: WorldStore) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.max(Episode.id))) or 0)


def outcome(store: WorldStore, episode_id: int, killed_at: list[int] | None = None) -> Outcome:
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        assert episode is not None
        last = session.scalar(
            select(Step.info).where(Step.episode_id == episode_id).order_by(Step.id.desc())
        )
    return Outcome(
        episode_id=episode_id,
        state_hash=store.state_hash(episode_id),
        steps=episode.step_count,
        score=float((last or {}).get("score", 0.0)),
        status=episode.status,
        killed_at=killed_at or [],
    )


def run_uninterrupted(
    db: str, run_args: list[str], env: dict[str, str] | None = None, *, in_process: bool = False
) -> Outcome:
    """The run left alone: a real process, or with `in_process` `main` in this one (the
    reference a test compares a killed and resumed process with; same seed, same hash)."""
    store = WorldStore(db)
    try:
        before = last_episode_id(store)
        run = tycoon_in_process if in_process else tycoon
        run("run", "--db", db, "--no-progress", *run_args, env=env)
        episode_id = last_episode_id(store)
        assert episode_id > before, "the run made no episode"
        return outcome(store, episode_id)
    finally:
        store.dispose()


def _step_count(store: WorldStore, episode_id: int) -> tuple[int, str] | None:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(Episode.step_count, Episode.status).where(Episode.id == episode_id)
        ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _kill_when(
    process: subprocess.Popen[str], store: WorldStore, episode_id: int | None, at_step: int
) -> tuple[int, int]:
    """Poll until the episode (the first one after `episode_id` when not yet known) has
    `at_step` committed steps, then SIGKILL; (episode id, steps committed when it died)."""
    deadline = time.monotonic() + 300
    known_before = last_episode_id(store) if episode_id is None else None
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"the run ended (exit {process.returncode}) before step {at_step}: "
                f"{process.stderr.read() if process.stderr else ''}"
            )
        if episode_id is None:
            with store.session() as session:
                episode_id = session.scalar(
                    select(func.min(Episode.id)).where(Episode.id > (known_before or 0))
                )
        if episode_id is not None:
            state = _step_count(store, episode_id)
            if state is not None and state[0] >= at_step:
                break
        if time.monotonic() > deadline:
            raise AssertionError(f"no step {at_step} within 300 s")
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    state = _step_count(store, episode_id)
    assert state is not None
    steps, status = state
    assert status == "running", f"the kill came too late: the episode is {status} at {steps}"
    return episode_id, steps


def run_killed_and_resumed(
    db: str,
    run_args: list[str],
    kill_at: list[int],
    env: dict[str, str] | None = None,
) -> Outcome:
    """Start the run, SIGKILL it at each kill point in turn (resuming in between), then
    resume it to the end with `tycoon run --db DB --resume N` and nothing else."""
    store = WorldStore(db)
    episode_id: int | None = None
    killed_at: list[int] = []
    try:
        for at_step in kill_at:
            if episode_id is None:
                args = ["run", "--db", db, "--no-progress", *run_args]
            else:
                args = ["run", "--db", db, "--no-progress", "--resume", str(episode_id)]
            process = subprocess.Popen(
                [sys.executable, "-m", "tycoon.cli", *args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **(env or {})},
            )
            try:
                episode_id, steps = _kill_when(process, store, episode_id, at_step)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            killed_at.append(steps)
        assert episode_id is not None
        tycoon("run", "--db", db, "--no-progress", "--resume", str(episode_id), env=env)
        return outcome(store, episode_id, killed_at)
    finally:
        store.dispose()


# --- a deterministic model for the LLM agent ----------------------------------------------

_POLICY_CALLS: list[tuple[str, dict]] = [
    ("get_balance", {}),
    ("read_inbox", {"limit": 5}),
    ("list_files", {}),
    ("search_web", {"query": "wholesale snacks", "limit": 3}),
    ("scratchpad_write", {"text": "checked the books"}),
    ("get_storage_inventory", {}),
    ("get_machine_inventory", {}),
    ("kv_set", {"key": "note", "value": "restock soon"}),
    ("wait_for_next_day", {}),
]


def deterministic_reply(body: dict):
    """A reply that depends only on the request (so a resumed run that sends the same
    requests gets the same replies): a tool call picked by a checksum of the messages,
    now and then a reply without a tool call. Tool call ids come from the checksum too,
    so replies (and their token counts) are byte-identical between runs."""
    import json
    import zlib

    from openai_server import Reply

    digest = zlib.crc32(json.dumps(body.get("messages", []), sort_keys=True).encode())
    if digest % 11 == 0:
        return Reply.text("Let me think about what to do next.")
    name, arguments = _POLICY_CALLS[digest % len(_POLICY_CALLS)]
    reply = Reply.tool_call(name, arguments)
    assert reply.message is not None
    reply.message["tool_calls"][0]["id"] = f"chatcmpl-tool-{digest:032x}"
    return reply
