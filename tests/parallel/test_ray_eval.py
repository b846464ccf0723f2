"""`tycoon eval SUITE --ray`: the suite's episodes on Ray actors (the shared test session),
recorded and resumed exactly as without Ray."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from tycoon.cli import build_parser, main
from tycoon.commands.common import make_agent, make_env, open_store
from tycoon.commands.eval import episode_args
from tycoon.envs.world.schema import Episode, EvalEpisode, EvalRun
from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.runs import RunSpec, link_episode, open_eval_run
from tycoon.leaderboards.suite import load_suite
from tycoon.rollout import run_episode_async

DAYS = 4


def eval_flags(db, agent: str, *ray: str) -> list[str]:
    return ["eval", "vb2", "--agent", agent, "--seeds", "0,1", "--max-days", str(DAYS),
            "--db", str(db), "--no-progress", *ray]  # fmt: skip


def linked_episodes(db) -> dict[int, tuple[int, str, int, str]]:
    """seed -> (episode id, status, day, state hash) of the run's episodes."""
    store = WorldStore(db)
    try:
        with store.session() as session:
            run = session.scalars(select(EvalRun)).one()
            assert run.finished_at is not None
            rows = session.execute(
                select(EvalEpisode.seed, Episode.id, Episode.status, Episode.day)
                .join(Episode, Episode.id == EvalEpisode.episode_id)
                .where(EvalEpisode.eval_run_id == run.id)
            ).all()
            total = len(session.scalars(select(Episode.id)).all())
        assert total == len(rows)  # no episode outside the run, none played twice
        return {
            seed: (episode_id, status, day, store.state_hash(episode_id))
            for seed, episode_id, status, day in rows
        }
    finally:
        store.dispose()


def test_eval_on_ray_records_the_same_episodes_as_in_process(ray_session, tmp_path, capsys):
    here, on_ray = tmp_path / "here.db", tmp_path / "ray.db"
    assert main(eval_flags(here, "baseline")) == 0
    assert main(eval_flags(on_ray, "baseline", "--ray", "--actors", "2", "--concurrency", "1")) == 0
    out = capsys.readouterr().out
    assert "2/2" in out
    expected, got = linked_episodes(here), linked_episodes(on_ray)
    assert sorted(got) == [0, 1]
    for seed in (0, 1):
        assert got[seed][2] == DAYS
        assert got[seed][1:] == expected[seed][1:]  # same status, day and final state
    # the same command again plays nothing: the run is complete
    assert main(eval_flags(on_ray, "baseline", "--ray", "--actors", "2")) == 0
    assert "continuing (2 already finished)" in capsys.readouterr().err
    assert linked_episodes(on_ray) == got


def start_partially(db, agent: str, seed: int, steps: int) -> int:
    """An eval run whose (default, seed) episode was linked and then stopped after
    `steps` steps, as a killed `tycoon eval` leaves it."""
    spec = RunSpec.build(load_suite("vb2"), agent=agent, seeds=[0, 1], max_days=DAYS)
    store = open_store(str(db))
    try:
        run_id, resumed = open_eval_run(store, spec)
        assert not resumed
        parsed = build_parser().parse_args(["eval", "vb2", "--agent", agent, "--db", str(db)])
        args = episode_args(parsed, spec, "default")
        env, player = make_env(args, store), make_agent(args, store)
        ids: list[int] = []

        def on_reset(episode_id: int) -> None:
            link_episode(store, run_id, "default", seed, episode_id)
            ids.append(episode_id)

        result = asyncio.run(
            run_episode_async(env, player, seed=seed, max_steps=steps, on_reset=on_reset)
        )
        env.close()
        assert result.episode_id == ids[0]
        with store.session() as session:
            assert session.get(Episode, ids[0]).status == "running"
        return ids[0]
    finally:
        store.dispose()


def test_eval_on_ray_resumes_an_interrupted_episode_instead_of_redoing_it(
    ray_session, tmp_path, capsys
):
    here, on_ray = tmp_path / "here.db", tmp_path / "ray.db"
    assert main(eval_flags(here, "idle")) == 0
    started = start_partially(on_ray, "idle", seed=1, steps=2)
    assert main(eval_flags(on_ray, "idle", "--ray", "--actors", "2", "--concurrency", "1")) == 0
    assert "continuing (0 already finished)" in capsys.readouterr().err
    expected, got = linked_episodes(here), linked_episodes(on_ray)
    assert got[1][0] == started  # the interrupted episode went on, not a fresh one
    for seed in (0, 1):
        assert got[seed][1:] == expected[seed][1:]
        assert got[seed][2] == DAYS


def test_eval_on_ray_links_each_episode_while_it_runs(ray_session, tmp_path):
    """A link appears while its episode is still running (so a killed eval resumes it),
    not only once it has finished."""
    db = tmp_path / "live.db"
    seen_running: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        engine = create_engine(f"sqlite:///{db}")
        query = text(
            "select l.episode_id from eval_episodes l join episodes e on e.id = l.episode_id "
            "where e.status = 'running'"
        )
        while not done.is_set():
            with contextlib.suppress(OperationalError), engine.connect() as conn:
                seen_running.update(conn.execute(query).scalars())
            time.sleep(0.01)
        engine.dispose()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        flags = ["eval", "vb2", "--agent", "baseline", "--seeds", "0", "--max-days", "60",
                 "--db", str(db), "--no-progress", "--ray", "--actors", "1"]  # fmt: skip
        assert main(flags) == 0
    finally:
        done.set()
        watcher.join()
    (episode_id, status, day, _hash) = linked_episodes(db)[0]
    assert seen_running == {episode_id}
    assert status != "running" and day == 60


def test_eval_on_ray_refuses_a_database_no_actor_can_share(capsys):
    assert main(["eval", "vb2", "--agent", "idle", "--db", ":memory:", "--ray"]) == 2
    assert "--ray needs a database file or server URL, not :memory:" in capsys.readouterr().err
