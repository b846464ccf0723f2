"""Resume is exact: `tycoon run` killed with SIGKILL, then `tycoon run --resume N`.

For every built-in agent, on SQLite and on PostgreSQL: a run killed at two points (and
resumed in between) and finished with `tycoon run --db DB --resume N` alone ends with
the same state hash, step count and score as the same run left alone. The resumes pass
no --env or --agent: the episode's stored RunSpec must bring back the environment (its
rules and limits) and the agent with its settings. The LLM agent runs against the
loopback OpenAI-protocol server with a deterministic policy and a small context budget,
so its window is trimmed many times across the kills. The run left alone is `main` in
the test's process (its hash is the process's, the same seed's); the killed runs and
their resumes are real processes.
"""

from __future__ import annotations

import pytest
from openai_server import FakeOpenAIServer
from resume_harness import (
    SCRIPTED_RUNS,
    deterministic_reply,
    run_killed_and_resumed,
    run_uninterrupted,
)
from sqlalchemy import select

from tycoon.agents.llm.context import apply_delta
from tycoon.envs.world.schema import LlmCall
from tycoon.envs.world.store import WorldStore

LLM_RUN = ["--env", "tycoon/VendingYear-v0", "--max-days", "8", "--context-tokens", "3500"]


# every agent on PostgreSQL takes minutes (slow); the baseline there runs every time
@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "resume.db")
    return request.getfixturevalue("postgres_url")


def kill_points(total_steps: int) -> list[int]:
    return [max(2, total_steps // 4), max(4, total_steps * 3 // 5)]


def assert_same_run(uninterrupted, resumed) -> None:
    assert resumed.killed_at and all(0 < k < uninterrupted.steps for k in resumed.killed_at)
    assert resumed.status == uninterrupted.status
    assert resumed.steps == uninterrupted.steps
    assert resumed.score == uninterrupted.score
    assert resumed.state_hash == uninterrupted.state_hash


@pytest.mark.parametrize("agent", list(SCRIPTED_RUNS))
def test_a_killed_scripted_run_resumes_exactly(agent, db) -> None:
    run_args = SCRIPTED_RUNS[agent]
    uninterrupted = run_uninterrupted(db, run_args, in_process=True)
    resumed = run_killed_and_resumed(db, run_args, kill_points(uninterrupted.steps))
    assert_same_run(uninterrupted, resumed)


@pytest.mark.postgres
def test_a_killed_baseline_run_resumes_exactly_on_postgres(postgres_url) -> None:
    run_args = SCRIPTED_RUNS["baseline"]
    uninterrupted = run_uninterrupted(postgres_url, run_args, in_process=True)
    resumed = run_killed_and_resumed(postgres_url, run_args, kill_points(uninterrupted.steps))
    assert_same_run(uninterrupted, resumed)


def test_a_killed_replay_resumes_exactly(db) -> None:
    recorded = run_uninterrupted(
        db, ["--agent", "random", "--seed", "2", "--max-days", "15"], in_process=True
    )
    run_args = ["--agent", "replay", "--replay-episode", str(recorded.episode_id)]
    run_args += ["--seed", "2", "--max-days", "15"]
    uninterrupted = run_uninterrupted(db, run_args, in_process=True)
    assert uninterrupted.state_hash == recorded.state_hash  # the replay reproduces it
    resumed = run_killed_and_resumed(db, run_args, kill_points(uninterrupted.steps))
    assert_same_run(uninterrupted, resumed)


def llm_windows(db: str, episode_id: int) -> list[list[dict]]:
    """The messages of every model call of an episode, rebuilt from the records."""
    store = WorldStore(db)
    try:
        with store.session() as session:
            requests = session.scalars(
                select(LlmCall.request).where(LlmCall.episode_id == episode_id).order_by(LlmCall.id)
            ).all()
    finally:
        store.dispose()
    windows, messages = [], []
    for request in requests:
        messages = apply_delta(messages, request)
        windows.append(messages)
    return windows


def test_a_killed_llm_run_resumes_exactly_with_the_same_context_windows(db) -> None:
    with FakeOpenAIServer(deterministic_reply) as server:
        run_args = ["--agent", "openai", "--model", "fake-model", "--base-url", server.base_url]
        run_args += LLM_RUN
        uninterrupted = run_uninterrupted(db, run_args, in_process=True)
        resumed = run_killed_and_resumed(db, run_args, kill_points(uninterrupted.steps))
    assert_same_run(uninterrupted, resumed)
    # every request, the trimmed ones after each resume included, is the one the
    # uninterrupted run sent (the score and hash include the weekly token bill)
    expected = llm_windows(db, uninterrupted.episode_id)
    assert llm_windows(db, resumed.episode_id) == expected
    trims = sum(1 for window in expected if "[Context note:" in str(window[1]["content"]))
    assert trims > len(expected) // 2  # the small budget trims the window again and again


@pytest.mark.slow
def test_a_killed_year_of_the_baseline_resumes_exactly(tmp_path) -> None:
    # issue 7's report: Year seed 0 ended at $15,248.68 in 3,304 steps left alone but at
    # $15,234.96 in 3,305 steps when killed and resumed (plans lost with the process)
    db = str(tmp_path / "year.db")
    run_args = ["--agent", "baseline", "--env", "tycoon/VendingYear-v0", "--seed", "0"]
    uninterrupted = run_uninterrupted(db, run_args, in_process=True)
    resumed = run_killed_and_resumed(db, run_args, [900, 2100])
    assert_same_run(uninterrupted, resumed)
