"""The driver of the 2-node test: run in its own process (a `Cluster` and a plain
`ray.init` cannot share a driver).

    python cluster_driver.py DB_URL EPISODES MAX_DAYS

Starts a head node and a worker node of one CPU each, one env-runner actor on each, runs
idle episodes (seeds 0..EPISODES-1), removes the worker node once the actors are busy,
checks that a SQLite file is refused, and prints one line, RESULT and JSON: per seed the episode id, status, steps and deaths, plus when
the node was removed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import ray
import ray_helpers
from ray import cloudpickle
from ray.cluster_utils import Cluster

from tycoon.parallel.engine import RayRollout
from tycoon.parallel.jobs import EpisodeJob
from tycoon.parallel.ray_runtime import DatabaseNotShared, alive_nodes, check_database_for_cluster

# a lost node is noticed after period x threshold (Ray's defaults wait ~15 s)
FAST_HEALTH_CHECKS = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 4,
}


async def rollout(cluster: Cluster, worker_node, db: str, episodes: int, max_days: int) -> dict:
    factory = ray_helpers.IdleEpisodes(db, max_days=max_days, pace=0.02)
    jobs = [EpisodeJob(index=i, seed=i) for i in range(episodes)]
    engine = RayRollout(factory, actors=2, concurrency=2, progress=False, start_timeout=20)
    removed_at = None
    async with engine:
        nodes = {runner.node_id for runner in engine.runners}
        assert len(nodes) == 2, f"expected the actors on two nodes, got {nodes}"

        async def remove_when_busy() -> float:
            victim_node = worker_node.node_id
            while not any(r.running and r.node_id == victim_node for r in engine.runners):
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # let its episodes take some steps
            await asyncio.to_thread(cluster.remove_node, worker_node, False)
            return time.perf_counter()

        remover = asyncio.ensure_future(remove_when_busy())
        outcomes = [outcome async for outcome in engine.stream(jobs)]
        removed_at = await remover
    return {
        "episodes": {
            str(o.job.seed): {
                "episode_id": o.result.episode_id,
                "stopped": o.result.stopped,
                "status": o.result.summary.status if o.result.summary else None,
                "steps": o.result.summary.steps if o.result.summary else None,
                "deaths": o.job.deaths,
            }
            for o in outcomes
        },
        "deaths": len(engine.deaths),
        "noticed_after_s": (engine.deaths[0][0] - removed_at) if engine.deaths else None,
    }


def sqlite_refusal() -> str:
    """What a rollout on this cluster says to a SQLite file ('' if it accepted it)."""
    try:
        check_database_for_cluster(str(Path(tempfile.gettempdir()) / "x.db"), nodes=alive_nodes())
    except DatabaseNotShared as exc:
        return str(exc)
    return ""


def main() -> None:
    db, episodes, max_days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cloudpickle.register_pickle_by_value(ray_helpers)
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "_system_config": FAST_HEALTH_CHECKS,
        },
    )
    worker_node = cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        refusal = sqlite_refusal()  # while both nodes are up
        report = asyncio.run(rollout(cluster, worker_node, db, episodes, max_days))
        report["sqlite_refused"] = refusal
        print("RESULT " + json.dumps(report), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
