"""Ray, loaded only when a parallel rollout asks for it, and where world state may live.

Ray is an optional extra: `import tycoon` never imports it, and a missing install is one
clear error naming the extra. Actors on several machines must share one database server
(PostgreSQL); a SQLite file works only while every actor runs on the machine that holds it.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from sqlalchemy.engine import make_url

from tycoon.envs.world.store import database_url

INSTALL_HINT = "pip install 'tycoon[ray]'"


class ParallelRolloutError(RuntimeError):
    """A parallel rollout cannot run as asked (printed as a one-line error)."""


class RayUnavailable(ParallelRolloutError):
    """Ray is not installed (the `ray` extra)."""


class DatabaseNotShared(ParallelRolloutError):
    """The world database cannot be reached from every node of the cluster."""


def import_ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise RayUnavailable(
            f"parallel rollouts need Ray, which is not installed: {INSTALL_HINT}"
        ) from exc


def start_ray(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Join the cluster at `address`, or start a local Ray for this run.

    Returns whether this call started (so owns) the Ray session; one that was already
    running in the process is reused and left running. Without `address` the Ray is
    this run's own ("local"), never another Ray that happens to run on the machine (a
    bare `ray.init()` would join that one and run the actors on its workers).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": True,
        "address": address or "local",
    }
    if address is None and num_cpus is not None:
        options["num_cpus"] = num_cpus
    ray.init(**options)
    return True


def join_ray(address: str | None, db: str) -> bool:
    """Ray for a rollout: the cluster at `address`, or a local Ray started for it; then the
    database checked for what every node can reach (`check_database_for_cluster`: a
    refusal, or a `SingleNodeDatabase` warning). Returns whether this call started Ray (so
    `leave_ray` shuts it down); a refused database leaves nothing running."""
    owns_ray = start_ray(address)
    try:
        check_database_for_cluster(db, nodes=alive_nodes())
    except BaseException:
        leave_ray(owns_ray)
        raise
    return owns_ray


def leave_ray(owns_ray: bool) -> None:
    """Shut down a Ray that `join_ray` started; leave one it joined running."""
    if owns_ray:
        import_ray().shutdown()


def default_actors(actor_cpus: float = 1.0) -> int:
    """One env-runner actor per CPU of the cluster."""
    cpus = import_ray().cluster_resources().get("CPU", 1)
    return max(1, int(cpus // actor_cpus))


def check_database_for_cluster(db: str, *, nodes: int) -> None:
    """Refuse what cannot work and warn about what works on one machine only.

    In-memory SQLite lives inside one process: no actor could see it. A SQLite file is
    one machine's file (and serialises every writer): allowed on a single node, with a
    warning; refused on a cluster of several nodes, which needs PostgreSQL.
    """
    url = make_url(database_url(db))
    if url.get_backend_name() != "sqlite":
        return
    if url.database in (None, "", ":memory:"):
        raise DatabaseNotShared(
            "parallel rollouts need a database file or server URL, not an in-memory SQLite "
            "database (each actor would see its own, empty one)"
        )
    if nodes > 1:
        raise DatabaseNotShared(
            f"the Ray cluster has {nodes} nodes, but --db {db} is a SQLite file that only "
            "this machine can open: use PostgreSQL (--db postgresql+psycopg://...)"
        )
    warnings.warn(
        f"world state in the SQLite file {url.database}: fine on this one machine, but its "
        "writers take turns (one lock for the whole file) and no other node can reach it; "
        "use PostgreSQL for many actors or a cluster",
        SingleNodeDatabase,
        stacklevel=2,
    )


class SingleNodeDatabase(UserWarning):
    """A SQLite file holds the world state of a parallel rollout (one machine only)."""


def alive_nodes() -> int:
    ray = import_ray()
    return sum(1 for node in ray.nodes() if node.get("Alive"))
