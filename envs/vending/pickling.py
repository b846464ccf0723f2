"""A `VendingEnv` pickled as what identifies it, not as its connections.

An env holds a database engine (connections, threads) that cannot cross processes. What
does cross is enough to rebuild it: the database URL, the env id and preset, its config
(probes included), reward weights, monitors, labels, and the episode it was playing.
Unpickling builds a fresh env on the same database and, when an episode was running,
resumes it from its last committed step (`reset(options={"episode_id": ...})`), so a
framework that ships envs between processes (Ray, multiprocessing) gets a working copy.

Pickling hands the episode over: the pickling process gives up its lease on the episode
(see `WorldStore.claim_episode`), so the copy that unpickles, in whatever process, may take
it; one process writes an episode at a time.

Not carried: a live `LLMJudge` (it holds a client; such an env refuses to pickle), and an
in-memory SQLite database (no other process can see it; refused too).
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.engine import make_url

from tycoon.instrumentation.monitors import MonitorSet

if TYPE_CHECKING:
    from tycoon.envs.vending.env import VendingEnv


class EnvIdentity(BaseModel):
    """Everything needed to rebuild an env in another process."""

    db_url: str
    env_id: str | None
    preset: str
    config: dict[str, Any]
    scenario: str
    reward_weights: dict[str, float]
    monitors: MonitorSet
    render_mode: str | None
    agent_name: str
    model_name: str
    episode_id: int | None
    durability: str = "step"


def env_identity(env: VendingEnv) -> EnvIdentity:
    url = make_url(env.store.url)
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise pickle.PicklingError(
            "Expected an env on a database file or server to pickle, got one on an "
            "in-memory SQLite database (no other process can open it)"
        )
    if env.judge is not None:
        raise pickle.PicklingError(
            "An env with a live LLM judge cannot be pickled (the judge holds a client); "
            "build it in the target process instead"
        )
    if env.reply_writer is not None:
        raise pickle.PicklingError(
            "An env with a supplier reply writer cannot be pickled (the writer holds a "
            "client); build it in the target process instead"
        )
    episode_id = env.simulation.episode.id if env.simulation is not None else None
    if env.simulation is not None:
        env.simulation.commit_pending()  # the copy resumes from what is committed
    if episode_id is not None:
        env.store.release_episode(episode_id)  # the unpickled copy takes it over
    return EnvIdentity(
        db_url=env.store.url,
        env_id=env.spec.id if env.spec is not None else None,
        preset=env.preset,
        config=env.config.model_dump(mode="json"),
        scenario=env.scenario,
        reward_weights=dict(env.reward_spec.weights),
        monitors=env.monitors,
        render_mode=env.render_mode,
        agent_name=env.agent_name,
        model_name=env.model_name,
        episode_id=episode_id,
        durability=env.durability,
    )


def rebuild_env(identity: EnvIdentity) -> VendingEnv:
    """The env an `EnvIdentity` describes, resumed at its episode's last step."""
    import gymnasium

    from tycoon.envs.vending.config import VendingConfig
    from tycoon.envs.vending.env import VendingEnv

    config = VendingConfig.model_validate(identity.config)
    env = VendingEnv(
        identity.preset,
        config,
        db=identity.db_url,
        reward_weights=identity.reward_weights,
        render_mode=identity.render_mode,
        scenario=config.probes if config.probes is not None else identity.scenario,
        monitors=identity.monitors,
        agent_name=identity.agent_name,
        model_name=identity.model_name,
        durability=identity.durability,
    )
    if identity.env_id is not None and identity.env_id in gymnasium.registry:
        env.spec = gymnasium.spec(identity.env_id)
    if identity.episode_id is not None:
        env.reset(options={"episode_id": identity.episode_id})
    return env
