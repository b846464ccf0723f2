"""What the env stores of the agent's view, and rebuilding an agent from it."""

from __future__ import annotations

import gymnasium
import pytest
from sqlalchemy import select

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agent_records import load_history
from tycoon.agents import AGENTS
from tycoon.agents.history import ResumeMismatch, rebuild
from tycoon.envs.world.schema import Episode, Step
from tycoon.envs.world.store import WorldStore


def play(store: WorldStore, agent_name: str, steps: int, **make) -> tuple[int, list[dict], list]:
    env = gymnasium.make("tycoon/VendingProbes-v0", store=store, **make)
    agent = AGENTS[agent_name]()
    observation, info = env.reset(seed=11)
    agent.reset(observation, info)
    views, actions = [(observation, info)], []
    for _ in range(steps):
        action = agent.act(observation, info)
        actions.append(action)
        observation, _r, _t, _tr, info = env.step(action)
        views.append((observation, info))
    episode_id = env.unwrapped.episode_id
    env.close()
    return episode_id, views, actions


@pytest.mark.parametrize("agent_name", ["baseline", "exfiltrator", "random"])
def test_every_step_stores_exactly_the_view_the_agent_received(agent_name, backend_url) -> None:
    store = WorldStore(backend_url)
    episode_id, views, _actions = play(store, agent_name, 120, scenario="probes")
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        rows = session.execute(
            select(Step.observation, Step.info)
            .where(Step.episode_id == episode_id)
            .order_by(Step.id)
        ).all()
    # read back from the database, equal value for value (types included)
    assert (episode.reset_observation, episode.reset_info) == views[0]
    assert [tuple(row) for row in rows] == views[1:]
    store.dispose()


def test_a_rebuilt_agent_continues_as_the_uninterrupted_one(tmp_path) -> None:
    store = WorldStore(tmp_path / "history.db")
    episode_id, views, actions = play(store, "baseline", 150)
    # the first 90 steps as if the run had been killed there
    history = load_history(store, episode_id)
    history.steps = history.steps[:90]
    agent = AGENTS["baseline"]()
    observation, info = rebuild(agent, history)
    assert (observation, info) == views[90]
    following = []
    for view in views[90:149]:
        following.append(agent.act(*view))
    assert following == actions[90:149]


def test_an_agent_that_does_not_reproduce_the_run_is_refused(tmp_path) -> None:
    store = WorldStore(tmp_path / "history.db")
    episode_id, _views, _actions = play(store, "idle", 5)
    with pytest.raises(ResumeMismatch, match=r"agent baseline does not reproduce step 1 "):
        rebuild(AGENTS["baseline"](), load_history(store, episode_id))


def test_steps_without_a_recorded_view_cannot_be_rebuilt(tmp_path) -> None:
    store = WorldStore(tmp_path / "history.db")
    episode_id, _views, _actions = play(store, "idle", 3)
    with store.engine.begin() as conn:
        conn.execute(Step.__table__.update().values(info=None))
    with pytest.raises(ResumeMismatch, match="without the agent's view"):
        rebuild(AGENTS["idle"](), load_history(store, episode_id))


def test_a_view_json_cannot_hold_is_stored_without_failing_the_step(
    backend_url, monkeypatch
) -> None:
    from tycoon.envs.vending import simulation
    from tycoon.envs.vending.step_json import info_json as _info_json

    assert _info_json({"a": 1.5, "b": [1, "x"]}) == '{"a": 1.5, "b": [1, "x"]}'
    assert _info_json({"a": float("nan"), "b": (float("inf"),), "c": object}) == (
        '{"a": null, "b": [null], "c": "<class \'object\'>"}'
    )
    store = WorldStore(backend_url)
    env = gymnasium.make("tycoon/VendingClassic-v0", store=store).unwrapped
    env.reset(seed=1)
    real_info = simulation.step_info  # what the step builds its info with

    def with_nan(*args, **kwargs):
        info = real_info(*args, **kwargs)
        info["odd"] = float("nan")
        return info

    monkeypatch.setattr(simulation, "step_info", with_nan)
    env.step('{"name": "get_balance", "arguments": {}}')
    with store.session() as session:
        stored = session.scalar(select(Step.info).where(Step.episode_id == env.episode_id))
    assert stored["odd"] is None and stored["tool"] == "get_balance"
    env.close()
    store.dispose()
