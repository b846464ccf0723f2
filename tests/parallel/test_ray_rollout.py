"""Rollouts on Ray actors (a real Ray, started once for these tests): the command, the
engine, and what happens when an actor's process is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from ray_helpers import (
    WAIT,
    FlakyRunner,
    IdleEpisodes,
    OtherHostRunner,
    conversation_reply,
    play_waits,
    solo_idle_hash,
)
from sqlalchemy import func, select

import tycoon
from tycoon.cli import build_parser, main
from tycoon.commands.common import llm_settings
from tycoon.envs.world.schema import Episode, LlmCall, Step
from tycoon.envs.world.store import WorldStore
from tycoon.export import episode_record
from tycoon.parallel.cli_rollout import ArgsEpisodes
from tycoon.parallel.engine import RayRollout
from tycoon.parallel.jobs import EpisodeJob
from tycoon.summary import summarise_episode


def hashes_by_seed(db: str, out_json) -> dict[int, str]:
    store = WorldStore(db)
    try:
        return {
            r["seed"]: store.state_hash(r["episode_id"]) for r in json.loads(out_json.read_text())
        }
    finally:
        store.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_rollout_on_ray_equals_the_rollout_in_one_process(
    backend, ray_session, tmp_path, capsys, request
) -> None:
    if backend == "sqlite":
        ray_db, solo_db = str(tmp_path / "ray.db"), str(tmp_path / "solo.db")
    else:
        ray_db = solo_db = request.getfixturevalue("postgres_url")
    flags = ["--episodes", "4", "--max-days", "6", "--no-progress", "--seed", "10"]
    ray_out, solo_out = tmp_path / "ray.json", tmp_path / "solo.json"
    args = ["rollout", *flags, "--ray", "--actors", "2", "--concurrency", "2"]
    assert main([*args, "--db", ray_db, "--out", str(ray_out)]) == 0
    err = capsys.readouterr().err
    assert ("SQLite file" in err) == (backend == "sqlite")  # the single-node warning
    assert main(["rollout", *flags, "--db", solo_db, "--out", str(solo_out)]) == 0
    on_ray = hashes_by_seed(ray_db, ray_out)
    assert sorted(on_ray) == [10, 11, 12, 13]
    assert on_ray == hashes_by_seed(solo_db, solo_out)
    results = json.loads(ray_out.read_text())
    assert all(r["summary"]["status"] == "max_days" or r["summary"]["days"] >= 6 for r in results)


def test_ray_refuses_an_in_memory_database(ray_session, capsys) -> None:
    assert main(["rollout", "--ray", "--db", ":memory:", "--no-progress"]) == 2
    assert "--ray needs a database file or server URL" in capsys.readouterr().err


def test_without_ray_installed_the_error_names_the_extra(tmp_path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if the package were not installed
        "from tycoon.cli import main\n"
        f"sys.exit(main(['rollout', '--ray', '--db', {str(tmp_path / 'x.db')!r}, '--no-progress']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'tycoon[ray]'" in result.stderr
    assert "Traceback" not in result.stderr


async def _stream_and_kill(engine: RayRollout, jobs, db: str, kill_after_steps: int):
    """Run the jobs; SIGKILL actor 0's process once `kill_after_steps` steps are in."""
    store = WorldStore(db)

    async def kill_when_busy() -> int:
        victim = engine.runners[0]
        while True:
            with store.session() as session:
                steps = session.scalar(select(func.count()).select_from(Step))
            if steps >= kill_after_steps and victim.running:
                os.kill(victim.pid, signal.SIGKILL)
                return len(victim.running)
            await asyncio.sleep(0.02)

    async with engine:
        killer = asyncio.ensure_future(kill_when_busy())
        outcomes = [outcome async for outcome in engine.stream(jobs)]
        if killer.done():
            in_flight_when_killed = killer.result()
        else:  # every episode ended before the kill was due: nothing to wait for
            killer.cancel()
            in_flight_when_killed = 0
    store.dispose()
    return outcomes, in_flight_when_killed


def _conversation(record: dict) -> list:
    """The messages without the server's random tool-call ids."""
    return [
        (m["role"], m.get("content"), [c["function"] for c in m.get("tool_calls") or []])
        for m in record["messages"]
    ]


def test_killed_actor_llm_episodes_continue_elsewhere_with_the_same_conversation(
    ray_session, tmp_path
) -> None:
    steps = 24
    with FakeOpenAIServer(conversation_reply(delay=0.03)) as server:
        flags = [
            "--agent", "openai", "--model", "fake-model", "--base-url", server.base_url,
            "--max-steps", str(steps), "--backoff", "0.01", "--timeout", "5", "--no-progress",
        ]  # fmt: skip
        solo_db, ray_db = str(tmp_path / "solo.db"), str(tmp_path / "ray.db")
        assert main(["rollout", *flags, "--episodes", "4", "--db", solo_db]) == 0
        args = build_parser().parse_args(["rollout", *flags, "--db", ray_db])
        llm = llm_settings(args)
        jobs = [EpisodeJob(index=i, seed=i, llm=llm) for i in range(4)]
        engine = RayRollout(ArgsEpisodes(args), actors=2, concurrency=2, progress=False)
        outcomes, killed_episodes = asyncio.run(_stream_and_kill(engine, jobs, ray_db, 12))
    assert killed_episodes >= 1, [o.result.stopped for o in outcomes]
    assert len(engine.deaths) == 1
    assert sum(o.job.deaths for o in outcomes) == killed_episodes  # they were continued
    assert all(o.result.stopped is None for o in outcomes), [o.result.stopped for o in outcomes]
    solo, on_ray = WorldStore(solo_db), WorldStore(ray_db)
    solo_ids = {e.seed: e.id for e in solo.list_episodes()}
    for outcome in outcomes:
        seed, episode_id = outcome.job.seed, outcome.result.episode_id
        assert outcome.result.summary.steps == steps
        assert on_ray.state_hash(episode_id) == solo.state_hash(solo_ids[seed]), seed
        assert _conversation(episode_record(on_ray, episode_id)) == _conversation(
            episode_record(solo, solo_ids[seed])
        ), seed
        with on_ray.session() as session:
            calls = session.scalars(select(LlmCall.step).where(LlmCall.episode_id == episode_id))
            assert sorted(calls) == list(range(1, steps + 1))  # nothing asked twice


def test_an_episode_that_keeps_killing_its_actor_is_reported_with_its_real_figures(
    ray_session, tmp_path
) -> None:
    db = str(tmp_path / "poison.db")
    factory = IdleEpisodes(db, max_days=12, pace=0.01, poison_seed=2, kill_at_step=5)
    jobs = [EpisodeJob(index=i, seed=i) for i in range(4)]

    async def run() -> list:
        async with RayRollout(
            factory, actors=2, concurrency=2, max_deaths=3, progress=False
        ) as engine:
            return [outcome async for outcome in engine.stream(jobs)]

    started = time.perf_counter()
    outcomes = {o.job.seed: o for o in asyncio.run(run())}
    assert time.perf_counter() - started < 300  # bounded: not looped
    poisoned = outcomes.pop(2)
    assert poisoned.job.deaths == 3
    assert "died 3 time(s)" in poisoned.result.stopped
    summary = poisoned.result.summary  # from the database, not "0 days, 0 steps"
    assert summary is not None and summary.status == "running"
    assert summary.steps == 5 and summary.days > 0
    assert summary == summarise_episode(WorldStore(db), poisoned.result.episode_id)
    for seed, outcome in outcomes.items():
        assert outcome.result.stopped is None
        expected = solo_idle_hash(str(tmp_path / f"solo{seed}.db"), seed, 12)
        assert WorldStore(db).state_hash(outcome.result.episode_id) == expected


def test_a_dead_actor_on_another_host_hands_over_its_leases_and_its_orphan(
    ray_session, tmp_path
) -> None:
    """Every actor's leases name a host of its own, so no one can see its process die:
    without the driver's hand-over its episodes would wait out the 120 s lease TTL. The
    actor that starts seed 1 dies after creating that episode and before reporting it:
    the driver finds it by its lease and continues it (a new start would die again)."""
    db = str(tmp_path / "hosts.db")
    factory = IdleEpisodes(db, max_days=10, pace=0.02, orphan_seed=1)
    jobs = [EpisodeJob(index=i, seed=i) for i in range(4)]

    async def run() -> tuple[list, RayRollout]:
        engine = RayRollout(
            factory, actors=2, concurrency=2, progress=False, runner=OtherHostRunner
        )
        async with engine:
            return [outcome async for outcome in engine.stream(jobs)], engine

    outcomes, engine = asyncio.run(run())
    by_seed = {o.job.seed: o for o in outcomes}
    assert all(o.result.stopped is None for o in outcomes), [o.result.stopped for o in outcomes]
    assert len(engine.deaths) == 1 and by_seed[1].job.deaths == 1
    assert engine.adopted == [by_seed[1].result.episode_id]  # continued, not restarted
    assert by_seed[1].result.episode_id in engine.handed_over
    store = WorldStore(db)
    with store.session() as session:
        seeds = sorted(session.scalars(select(Episode.seed)))
    assert seeds == [0, 1, 2, 3]  # no episode started twice
    for seed, outcome in by_seed.items():
        expected = solo_idle_hash(str(tmp_path / f"solo{seed}.db"), seed, 10)
        assert store.state_hash(outcome.result.episode_id) == expected, seed
    store.dispose()


def test_an_actor_unavailable_for_a_moment_is_not_dead(ray_session, tmp_path) -> None:
    """Ray reports the actor unavailable once per job (the stream breaks, the actor runs
    on): the driver pings it, listens to the same job again, and no episode is started
    twice or moved."""
    db = str(tmp_path / "flaky.db")
    factory = IdleEpisodes(db, max_days=6, pace=0.01)
    jobs = [EpisodeJob(index=i, seed=i) for i in range(3)]

    async def run() -> tuple[list, RayRollout]:
        engine = RayRollout(factory, actors=1, concurrency=3, progress=False, runner=FlakyRunner)
        async with engine:
            return [outcome async for outcome in engine.stream(jobs)], engine

    outcomes, engine = asyncio.run(run())
    assert all(o.result.stopped is None for o in outcomes), [o.result.stopped for o in outcomes]
    assert engine.deaths == [] and len(engine.unreachable) == 3
    assert sorted(o.job.unreachable for o in outcomes) == [1, 1, 1]
    store = WorldStore(db)
    with store.session() as session:
        assert sorted(session.scalars(select(Episode.seed))) == [0, 1, 2]
    for outcome in outcomes:
        assert outcome.result.summary.steps == 6
        expected = solo_idle_hash(str(tmp_path / f"solo{outcome.job.seed}.db"), outcome.job.seed, 6)
        assert store.state_hash(outcome.result.episode_id) == expected
    store.dispose()


@pytest.mark.slow  # two Ray nodes in their own process: ~25 s
@pytest.mark.postgres
def test_two_node_cluster_loses_a_node_and_every_episode_ends_as_a_solo_run(
    postgres_url, tmp_path
) -> None:
    episodes, max_days = 4, 80
    driver = Path(__file__).with_name("cluster_driver.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(driver.parent), *sys.path])}
    result = subprocess.run(
        [sys.executable, str(driver), postgres_url, str(episodes), str(max_days)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("RESULT "))
    assert report["deaths"] == 1  # the removed node's actor
    assert "use PostgreSQL" in report["sqlite_refused"]  # a file one node cannot share
    by_seed = report["episodes"]
    assert sorted(map(int, by_seed)) == list(range(episodes))
    assert sum(e["deaths"] for e in by_seed.values()) >= 1  # some were moved mid-run
    store = WorldStore(postgres_url)
    for seed, episode in by_seed.items():
        assert episode["stopped"] is None and episode["steps"] == max_days, episode
        solo = solo_idle_hash(str(tmp_path / f"solo{seed}.db"), int(seed), max_days)
        assert store.state_hash(episode["episode_id"]) == solo, seed


def test_an_env_shipped_to_a_ray_task_resumes_its_episode_there(ray_session, tmp_path) -> None:
    env = tycoon.make(
        "tycoon/VendingClassic-v0", db=str(tmp_path / "ship.db"), config={"max_days": 7}
    )
    env.reset(seed=9)
    for _ in range(3):
        env.step(WAIT)
    play = ray_session.remote(play_waits)
    pid, episode_id, final_hash = ray_session.get(play.remote(env, 4))
    assert pid != os.getpid() and episode_id == env.unwrapped.episode_id
    assert final_hash == solo_idle_hash(str(tmp_path / "solo.db"), 9, 7)
    env.close()
