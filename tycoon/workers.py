"""Episodes spread over worker processes, each running the async runner on its share.

One process saturates a core at a few hundred steps per second (the OpenAI client's own
CPU per call is most of it), so `tycoon rollout --workers W` starts W processes (spawn,
so nothing of the parent's state is inherited) that all write to the same database: a
SQLite file (WAL; writers wait for each other through busy_timeout) or PostgreSQL by URL.

Each worker reports through its own pipe (a killed worker can only break its own): when an
episode exists, each batch of steps, each finished episode. The parent draws one progress
bar. A worker that dies leaves its unfinished episodes in the database; they come back
as results that say so (`stopped`), with their ids when they had started, so that
`--resume` continues them; jobs it never started are returned with their seeds.

The work itself is a picklable top-level coroutine function,
`run_share(spec, jobs, concurrency, listener) -> list[EpisodeResult]`, called in each
worker with its share of the jobs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import traceback
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from tycoon.rollout import EpisodeResult, Job, ProgressBar, RolloutListener

RunShare = Callable[[Any, list[Job], int, RolloutListener], Awaitable[list[EpisodeResult]]]
STEP_REPORT_SECONDS = 0.25  # how often a worker sends its step count


class _PipeListener(RolloutListener):
    """A worker's listener: forwards events to the parent, steps in batches."""

    def __init__(self, conn: Connection, indexes: list[int]) -> None:
        self.conn = conn
        self.indexes = indexes  # share position -> position in the whole rollout
        self.steps = 0
        self.sent = time.perf_counter()

    def episode_started(self, index: int, episode_id: int) -> None:
        self.conn.send(("started", self.indexes[index], episode_id))

    def stepped(self) -> None:
        self.steps += 1
        now = time.perf_counter()
        if now - self.sent > STEP_REPORT_SECONDS:
            self._send_steps(now)

    def episode_finished(self, index: int, result: EpisodeResult) -> None:
        self._send_steps(time.perf_counter())
        self.conn.send(("finished", self.indexes[index], result.model_dump(mode="json")))

    def close(self) -> None:
        self._send_steps(time.perf_counter())

    def _send_steps(self, now: float) -> None:
        if self.steps:
            self.conn.send(("steps", self.steps))
            self.steps = 0
        self.sent = now


def _worker_main(
    conn: Connection,
    run_share: RunShare,
    spec: Any,
    share: list[tuple[int, Job]],
    concurrency: int,
) -> None:
    listener = _PipeListener(conn, [index for index, _ in share])
    try:
        asyncio.run(run_share(spec, [job for _, job in share], concurrency, listener))
        conn.send(("done",))
    except BaseException:  # reported to the parent, which decides what is resumable
        conn.send(("failed", traceback.format_exc(limit=8)))
        raise
    finally:
        conn.close()


class _Worker:
    def __init__(self, number: int, process: Any, conn: Connection, share: list[tuple[int, Job]]):
        self.number = number
        self.process = process
        self.conn: Connection | None = conn
        self.share = share
        self.clean_exit = False
        self.error = ""


def split_jobs(jobs: list[Job], workers: int) -> list[list[tuple[int, Job]]]:
    """Round-robin shares of (position, job); no empty shares."""
    shares = [list(enumerate(jobs))[w::workers] for w in range(workers)]
    return [share for share in shares if share]


def rollout_in_processes(
    run_share: RunShare,
    spec: Any,
    jobs: list[Job],
    *,
    workers: int,
    concurrency: int,
    progress: bool = True,
) -> list[EpisodeResult]:
    """Run `jobs` over `workers` processes, `concurrency` episodes in flight in all.

    Results come back in job order. Episodes of a worker that died are results with
    `stopped` set (and `episode_id`, when the episode had been created).
    """
    if workers < 1:
        raise ValueError(f"Expected at least 1 worker, got {workers}")
    shares = split_jobs(jobs, workers)
    per_worker = max(1, -(-concurrency // len(shares)))
    context = multiprocessing.get_context("spawn")
    bar = ProgressBar(len(jobs), enabled=progress, desc=f"rollout x{len(shares)}")
    results: list[EpisodeResult | None] = [None] * len(jobs)
    episode_ids: dict[int, int] = {}
    pool: list[_Worker] = []
    try:
        for number, share in enumerate(shares):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker_main,
                args=(writer, run_share, spec, share, per_worker),
                name=f"tycoon-worker-{number}",
            )
            process.start()
            writer.close()  # the child holds the only writing end: EOF when it dies
            pool.append(_Worker(number, process, reader, share))
        _collect(pool, results, episode_ids, bar)
    finally:
        for worker in pool:
            if worker.process.is_alive():
                worker.process.terminate()
            worker.process.join()
        bar.close()
    for worker in pool:
        _account_for_lost_work(worker, results, episode_ids, jobs)
    return [r for r in results if r is not None]


def _collect(
    pool: list[_Worker],
    results: list[EpisodeResult | None],
    episode_ids: dict[int, int],
    bar: ProgressBar,
) -> None:
    by_conn = {worker.conn: worker for worker in pool}
    while by_conn:
        for conn in wait(list(by_conn)):
            worker = by_conn[conn]  # type: ignore[index]
            try:
                message = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):  # the worker is gone
                del by_conn[conn]  # type: ignore[arg-type]
                conn.close()  # type: ignore[union-attr]
                worker.conn = None
                continue
            kind = message[0]
            if kind == "steps":
                bar.add_steps(message[1])
            elif kind == "started":
                episode_ids[message[1]] = message[2]
            elif kind == "finished":
                result = EpisodeResult.model_validate(message[2])
                results[message[1]] = result
                bar.episode_finished(message[1], result)
            elif kind == "done":
                worker.clean_exit = True
            elif kind == "failed":
                worker.error = message[1].strip().splitlines()[-1]


def _account_for_lost_work(
    worker: _Worker,
    results: list[EpisodeResult | None],
    episode_ids: dict[int, int],
    jobs: list[Job],
) -> None:
    lost = [index for index, _ in worker.share if results[index] is None]
    if not lost:
        return
    code = worker.process.exitcode
    why = worker.error or f"exit code {code}"
    for index in lost:
        job = jobs[index]
        episode_id = episode_ids.get(index, job.resume)
        results[index] = EpisodeResult(
            episode_id=episode_id,
            seed=job.seed,
            steps=0,
            seconds=0.0,
            stopped=(
                f"worker {worker.number} died ({why})"
                + ("" if episode_id is not None else "; episode not started")
            ),
        )
