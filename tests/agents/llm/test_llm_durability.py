"""An agent that records its model calls runs only where every step commits.

Its calls are written as they are made, apart from the step's transaction: under
durability "day" or "episode" a SQLite run waited on its own open transaction and failed
with "database is locked", and on PostgreSQL a killed run kept calls whose steps were lost,
so its resume was inexact (found by the kill soak, tests/kill_soak.py). The episode loop
refuses the pair before anything starts.
"""

from __future__ import annotations

import asyncio

import pytest
from openai_server import FakeOpenAIServer
from sqlalchemy import func, select

import tycoon
from tycoon.agents.baseline import BaselineAgent
from tycoon.agents.llm import ChatClient, LlmAgent, LlmSettings
from tycoon.envs.world.schema import Episode
from tycoon.envs.world.store import WorldStore
from tycoon.rollout import run_episode_async


def episodes(store: WorldStore) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Episode)))


@pytest.mark.parametrize("durability", ["day", "episode"])
def test_an_llm_agent_is_refused_where_steps_are_not_committed_each(durability, tmp_path):
    store = WorldStore(tmp_path / "llm.db")
    settings = LlmSettings(model="fake-model", base_url="", max_retries=0)

    async def go(server: FakeOpenAIServer) -> None:
        client = ChatClient(settings.model_copy(update={"base_url": server.base_url}))
        env = tycoon.make("tycoon/VendingYear-v0", store=store, durability=durability)
        try:
            await run_episode_async(env, LlmAgent(settings, client), seed=1)
        finally:
            env.close()
            await client.close()

    with FakeOpenAIServer() as server:
        with pytest.raises(ValueError, match="durability") as refused:
            asyncio.run(go(server))
        assert server.completions == []  # no model was asked
    assert f"got {durability!r}" in str(refused.value)
    assert episodes(store) == 0  # nothing started
    # a scripted agent, which records no calls, runs under it
    env = tycoon.make(
        "tycoon/VendingYear-v0", store=store, durability=durability, config={"max_days": 3}
    )
    asyncio.run(run_episode_async(env, BaselineAgent(), seed=1))
    env.close()
    assert episodes(store) == 1
