"""Ray rollouts against one process: throughput, start-up, memory, recovery.

Prints four tables (ratios are within one run, on this machine):
1. scripted episodes (baseline agent, VendingClassic-v0): steps/s and CPU ms per step
   (driver + actors) for asyncio in one process and Ray with 1 and 2 actors, on a SQLite
   file and on PostgreSQL (`--postgres auto` starts a throwaway local server);
2. Ray start-up (ray.init, actors ready) and resident memory per actor;
3. LLM episodes against the loopback server answering after `--latency` s with K in
   flight in all: the bare AsyncOpenAI loop on tycoon's own recorded requests, tycoon in
   one process, Ray with 1 actor (K) and 2 actors (K/2 each);
4. recovery: an actor SIGKILLed mid-rollout; seconds until the driver notices, and until
   each of its episodes commits a step again on another actor.

    python benchmarks/bench_ray.py [--postgres auto|URL] [--latency 0.2] [--k 256]
        [--episodes 8] [--days 60] [--llm-steps 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests"), str(ROOT / "tests" / "parallel")]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli_args(*flags: str) -> argparse.Namespace:
    from tycoon.cli import build_parser
    from tycoon.commands.common import apply_defaults

    args = build_parser().parse_args(["rollout", "--no-progress", *flags])
    apply_defaults(args)  # as the command does for new episodes (env, agent, ...)
    return args


def in_process(
    args: argparse.Namespace, jobs: list[Any], concurrency: int
) -> tuple[int, float, float]:
    """The rollout's own path without Ray: steps, wall seconds, CPU seconds."""
    from tycoon.commands.rollout import run_share
    from tycoon.rollout import ProgressBar

    cpu, wall = time.process_time(), time.perf_counter()
    results = asyncio.run(run_share(args, jobs, concurrency, ProgressBar(0, enabled=False)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stopped = [r.stopped for r in results if r.stopped]
    if stopped:
        raise SystemExit(f"episodes stopped: {stopped[:3]}")
    return sum(r.steps for r in results), wall, cpu


async def on_ray(
    args: argparse.Namespace,
    jobs: list[Any],
    actors: int,
    concurrency: int,
    server_pid: int | None = None,
) -> dict[str, float]:
    """Steps, wall and CPU (driver, actors and the model server apart) of the stream
    alone; actor start apart."""
    from tycoon.parallel.cli_rollout import ArgsEpisodes
    from tycoon.parallel.engine import RayRollout

    engine = RayRollout(ArgsEpisodes(args), actors=actors, concurrency=concurrency, progress=False)
    started = time.perf_counter()
    async with engine:
        actors_ready = time.perf_counter() - started
        pids = [runner.pid for runner in engine.runners]
        driver_before = time.process_time()
        actors_before = sum(process_cpu(pid) for pid in pids)
        server_before = process_cpu(server_pid) if server_pid else 0.0
        wall = time.perf_counter()
        outcomes = [outcome async for outcome in engine.stream(jobs)]
        wall = time.perf_counter() - wall
        driver_cpu = time.process_time() - driver_before
        actors_cpu = sum(process_cpu(pid) for pid in pids) - actors_before
        server_cpu = (process_cpu(server_pid) - server_before) if server_pid else 0.0
        memory = [resident_mb(pid) for pid in pids]
    stopped = [o.result.stopped for o in outcomes if o.result.stopped]
    if stopped:
        raise SystemExit(f"episodes stopped: {stopped[:3]}")
    return {
        "steps": sum(o.result.steps for o in outcomes),
        "wall": wall,
        "cpu": driver_cpu + actors_cpu,
        "driver_cpu": driver_cpu,
        "actors_cpu": actors_cpu,
        "server_cpu": server_cpu,
        "actors_ready": actors_ready,
        "actor_mb": sum(memory) / len(memory),
    }


def scripted_table(dbs: dict[str, str], episodes: int, days: int) -> None:
    from tycoon.parallel.jobs import EpisodeJob
    from tycoon.rollout import Job

    print(f"\n1. scripted: {episodes} baseline episodes x {days} days, all in flight")
    print(f"{'database':<11} {'runner':<16} {'steps/s':>8} {'x 1 proc':>8} {'CPU ms/step':>11}")
    for name, db in dbs.items():
        args = cli_args("--max-days", str(days), "--db", db)
        steps, wall, cpu = in_process(args, [Job(seed=s) for s in range(episodes)], episodes)
        base = steps / wall
        print(f"{name:<11} {'asyncio, 1 proc':<16} {base:8.1f} {1:8.2f} {1000 * cpu / steps:11.2f}")
        for actors in (1, 2):
            jobs = [EpisodeJob(index=s, seed=s) for s in range(episodes)]
            run = asyncio.run(on_ray(args, jobs, actors, -(-episodes // actors)))
            rate = run["steps"] / run["wall"]
            print(
                f"{name:<11} {f'Ray, {actors} actor(s)':<16} {rate:8.1f} {rate / base:8.2f} "
                f"{1000 * run['cpu'] / run['steps']:11.2f}"
            )


def startup_table() -> None:
    from tycoon.parallel.cli_rollout import ArgsEpisodes
    from tycoon.parallel.engine import RayRollout

    with tempfile.TemporaryDirectory() as tmp:
        args = cli_args("--db", str(Path(tmp) / "start.db"), "--agent", "idle")

        async def start() -> tuple[float, list[float]]:
            engine = RayRollout(ArgsEpisodes(args), actors=2, concurrency=1, progress=False)
            began = time.perf_counter()
            async with engine:
                ready = time.perf_counter() - began
                return ready, [resident_mb(r.pid) for r in engine.runners]

        ready, memory = asyncio.run(start())
    print("\n2. Ray start-up and memory")
    print(f"ray.init (local, 2 CPUs)          {STARTUP['init']:6.2f} s")
    print(f"2 env-runner actors ready         {ready:6.2f} s")
    print(f"resident memory per idle actor    {sum(memory) / len(memory):6.0f} MB")
    print(f"driver resident memory            {resident_mb(os.getpid()):6.0f} MB")


def start_server(latency: float) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    from bench_rollout import start_server as start

    return start(latency)


def llm_table(
    server_pid: int, base_url: str, dbs: dict[str, str], k: int, steps: int, latency: float
) -> None:
    """Steps/s of each runner, and where the machine's cores went meanwhile: tycoon's
    processes (driver and actors) apart from the loopback model server, which shares them."""
    from bench_rollout import bare_client, create_worlds, recorded_requests

    from tycoon.commands.common import llm_settings
    from tycoon.envs.world.store import WorldStore
    from tycoon.parallel.jobs import EpisodeJob
    from tycoon.rollout import Job

    print(
        f"\n3. LLM episodes, server latency {latency * 1000:.0f} ms, K={k} in flight, x{steps} steps"
        f" ({os.cpu_count()} cores; 'cores' = CPU seconds / wall seconds)"
    )
    print(
        f"{'database':<11} {'runner':<28} {'steps/s':>8} {'x 1 proc':>8} {'CPU ms/step':>11} "
        f"{'driver':>7} {'actors':>7} {'server':>7} {'cores':>6} {'load':>5}"
    )
    flags = ("--agent", "openai", "--model", "m", "--base-url", base_url, "--timeout", "60")

    def fresh(db: str) -> tuple[argparse.Namespace, list[int]]:
        store = WorldStore(db)
        ids, _ = create_worlds(store, k, steps)
        store.dispose()
        return cli_args(*flags, "--db", db, "--max-steps", str(steps)), ids

    with tempfile.TemporaryDirectory() as tmp:
        for name, shared in dbs.items():
            rows: list[tuple[str, float, float, float, float, float]] = []

            def db_for(run: str, name: str = name, shared: str = shared) -> str:
                return str(Path(tmp) / f"{run}.db") if name == "SQLite" else shared

            args, ids = fresh(db_for("one"))
            server_before = process_cpu(server_pid)
            total, wall, cpu = in_process(args, [Job(resume=i) for i in ids], k)
            server = process_cpu(server_pid) - server_before
            rows.append(("tycoon, asyncio, 1 process", total / wall, cpu, wall, 0.0, server, total))
            if name == "SQLite":
                tools, requests = recorded_requests(Path(args.db), ids[0])
                server_before = process_cpu(server_pid)
                wall, cpu, calls = asyncio.run(
                    bare_client(base_url, k, tools, requests, typed=False)
                )
                server = process_cpu(server_pid) - server_before
                rows.insert(
                    0, ("bare AsyncOpenAI loop", calls / wall, cpu, wall, 0.0, server, calls)
                )
            for actors in (1, 2):
                args, ids = fresh(db_for(f"ray{actors}"))
                llm = llm_settings(args)
                jobs = [EpisodeJob(index=n, resume=i, llm=llm) for n, i in enumerate(ids)]
                run = asyncio.run(on_ray(args, jobs, actors, k // actors, server_pid))
                rows.append(
                    (
                        f"Ray, {actors} actor(s) x {k // actors}",
                        run["steps"] / run["wall"],
                        run["driver_cpu"],
                        run["wall"],
                        run["actors_cpu"],
                        run["server_cpu"],
                        run["steps"],
                    )
                )
            one = next(rate for label, rate, *_ in rows if label.startswith("tycoon"))
            for label, rate, driver, wall, actors_cpu, server, count in rows:
                busy = (driver + actors_cpu + server) / wall
                print(
                    f"{name:<11} {label:<28} {rate:8.1f} {rate / one:8.2f} "
                    f"{1000 * (driver + actors_cpu) / count:11.2f} {driver / wall:7.2f} "
                    f"{actors_cpu / wall:7.2f} {server / wall:7.2f} {busy:6.2f} "
                    f"{os.getloadavg()[0]:5.1f}"
                )
            print_ceiling(name, rows)


def print_ceiling(
    name: str, rows: list[tuple[str, float, float, float, float, float, int]]
) -> None:
    """What the measured CPU per step allows 2 actors on 2 cores against one process (one
    core at most; the model server on the other): on a shared machine the wall ratios say
    as much about the neighbours' load as about tycoon."""
    per_step = {
        label: ((driver + actors) / count, server / count)
        for label, _rate, driver, _wall, actors, server, count in rows
    }
    one, server_one = next(v for k, v in per_step.items() if k.startswith("tycoon"))
    two, server_two = next(v for k, v in per_step.items() if k.startswith("Ray, 2"))
    alone = 2 * one / two  # the server on other cores
    single = 1 / max(one, server_one)  # steps/s of one process, the server beside it
    shared = min(2 / (two + server_two), 2 / two) / single
    print(
        f"{name:<11} CPU-bound ceiling of 2 actors vs 1 process: {alone:.2f}x with the model "
        f"server on other cores, {shared:.2f}x with it on these 2 "
        f"({1000 * one:.2f} vs {1000 * two:.2f} ms per step; server {1000 * server_two:.2f} ms)"
    )


def recovery_table(base_url: str, per_actor: int, steps: int) -> None:
    """An actor SIGKILLed on this host (its leases show a dead pid) and on "another host"
    (each actor's leases name a host of its own, as on a cluster: only the driver's
    hand-over frees them before the 120 s TTL)."""
    import ray_helpers
    from ray import cloudpickle

    from tycoon.parallel.actor import EnvRunner

    cloudpickle.register_pickle_by_value(ray_helpers)
    print(f"\n4. recovery: an actor SIGKILLed with {per_actor} LLM episodes in flight")
    print(
        f"{'leases name':<22} {'noticed':>8} {'first steps':>12} {'last steps':>11}  (s after the kill)"
    )
    for label, runner in (
        ("this host", EnvRunner),
        ("a host per actor", ray_helpers.OtherHostRunner),
    ):
        noticed, first, last, moved = recover_once(base_url, per_actor, steps, runner)
        print(f"{label:<22} {noticed:8.2f} {first:12.2f} {last:11.2f}  ({moved} episodes moved)")


def recover_once(
    base_url: str, per_actor: int, steps: int, runner: Any
) -> tuple[float, float, float, int]:
    from sqlalchemy import func, select

    from tycoon.commands.common import llm_settings
    from tycoon.envs.world.schema import Step
    from tycoon.envs.world.store import WorldStore
    from tycoon.parallel.cli_rollout import ArgsEpisodes
    from tycoon.parallel.engine import RayRollout
    from tycoon.parallel.jobs import EpisodeJob

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "recover.db")
        args = cli_args(
            "--agent", "openai", "--model", "m", "--base-url", base_url, "--timeout", "60",
            "--db", db, "--max-steps", str(steps),
        )  # fmt: skip
        llm = llm_settings(args)
        jobs = [EpisodeJob(index=n, seed=n, llm=llm) for n in range(2 * per_actor)]
        engine = RayRollout(
            ArgsEpisodes(args), actors=2, concurrency=per_actor, progress=False, runner=runner
        )
        store = WorldStore(db)

        def step_counts(ids: list[int]) -> dict[int, int]:
            with store.session() as session:
                rows = session.execute(
                    select(Step.episode_id, func.count())
                    .where(Step.episode_id.in_(ids))
                    .group_by(Step.episode_id)
                )
                return dict(rows.all())

        async def kill_and_watch() -> tuple[float, float, float, int]:
            while sum(step_counts(list(range(1, 2 * per_actor + 1))).values()) < per_actor * 5:
                await asyncio.sleep(0.05)
            victim = engine.runners[0]
            ids = [job.resume for job in jobs if job.index in victim.running and job.resume]
            before = step_counts(ids)
            os.kill(victim.pid, signal.SIGKILL)
            killed = time.perf_counter()
            resumed: dict[int, float] = {}
            while len(resumed) < len(ids):
                now = step_counts(ids)
                for episode_id in ids:
                    if episode_id not in resumed and now.get(episode_id, 0) > before.get(
                        episode_id, 0
                    ):
                        resumed[episode_id] = time.perf_counter() - killed
                await asyncio.sleep(0.01)
            noticed = engine.deaths[0][0] - killed
            return noticed, min(resumed.values()), max(resumed.values()), len(ids)

        async def run() -> tuple[float, float, float, int]:
            async with engine:
                watcher = asyncio.ensure_future(kill_and_watch())
                _ = [outcome async for outcome in engine.stream(jobs)]
                return await watcher

        measured = asyncio.run(run())
        store.dispose()
    return measured


STARTUP: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=None, help="'auto' or a URL")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--k", type=int, default=256, help="LLM episodes in flight in all")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--llm-steps", type=int, default=40)
    parser.add_argument("--skip", nargs="*", default=[], choices=["scripted", "llm", "recovery"])
    parser.add_argument(
        "--llm-db",
        nargs="*",
        default=["SQLite", "PostgreSQL"],
        choices=["SQLite", "PostgreSQL"],
        help="databases of the LLM table (PostgreSQL only with --postgres)",
    )
    options = parser.parse_args()

    import ray

    began = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    STARTUP["init"] = time.perf_counter() - began
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        dbs = {"SQLite": str(Path(tmp) / "scripted.db")}
        if options.postgres == "auto":
            from pg_server import running_postgres

            dbs["PostgreSQL"] = stack.enter_context(running_postgres())
        elif options.postgres:
            dbs["PostgreSQL"] = options.postgres
        if "scripted" not in options.skip:
            scripted_table(dbs, options.episodes, options.days)
        startup_table()
        server, base_url = start_server(options.latency)
        stack.callback(server.wait)
        stack.callback(server.terminate)
        if "llm" not in options.skip:
            llm_dbs = {key: dbs[key] for key in dbs if key in options.llm_db}
            llm_table(server.pid, base_url, llm_dbs, options.k, options.llm_steps, options.latency)
        if "recovery" not in options.skip:
            recovery_table(base_url, 16, 60)
    ray.shutdown()


if __name__ == "__main__":
    main()
