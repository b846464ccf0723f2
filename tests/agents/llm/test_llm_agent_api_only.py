"""The LLM agent works from the env's API alone (observation, info, tools): no env
object, no tables. Its call records go to the journal it is given; the runner writes
them (issue 8: agents see the env only through its API)."""

from __future__ import annotations

import asyncio

import gymnasium
import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import func, select

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agents.base import NoJournal
from tycoon.agents.llm import ChatClient, LlmAgent, LlmSettings, system_prompt
from tycoon.envs.world.schema import LlmCall
from tycoon.envs.world.store import WorldStore

pytestmark = pytest.mark.usefixtures("each_transport")  # conftest.py


def test_the_agent_plays_from_reset_info_and_journals_without_a_database(tmp_path) -> None:
    store = WorldStore(tmp_path / "api.db")
    env = gymnasium.make("tycoon/VendingClassic-v0", store=store)
    with FakeOpenAIServer() as server:
        server.script(Reply.tool_call("get_balance", {}), Reply.text("thinking..."))
        server.script(Reply.tool_call("read_inbox", {}))
        settings = LlmSettings(model="m", base_url=server.base_url, timeout=2.0)

        async def play() -> tuple[LlmAgent, NoJournal, list[str]]:
            client = ChatClient(settings)
            agent, journal = LlmAgent(settings, client), NoJournal()
            observation, info = env.reset(seed=5)
            agent.start(observation, info, journal)  # no env handed over
            tools = []
            try:
                for _ in range(2):
                    decision = await agent.decide()
                    observation, *_, info = env.step(decision.action)
                    agent.observe(decision, observation, info)
                    tools.append(info["tool"])
            finally:
                await client.close()
            return agent, journal, tools

        agent, journal, tools = asyncio.run(play())
        first_request = server.completions[0].body
    env.close()
    assert tools == ["get_balance", "read_inbox"]
    # the journal got every call, the no-call reply included, numbered from 1
    assert [(r.id, r.step, r.parse_status) for r in journal.records] == [
        (1, 1, "ok"),
        (2, None, "no_call"),
        (3, 2, "ok"),
    ]
    # the agent wrote nothing to the env's database: that is the runner's job
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LlmCall)) == 0
    # the system prompt and the sampling seeds come from the reset info
    _, info = gymnasium.make("tycoon/VendingClassic-v0").reset(seed=5)
    assert first_request["messages"][0]["content"] == system_prompt(info["briefing"])
    assert first_request["seed"] == (5 * 1_000_003 + 1) % 2**31
    assert agent.calls == 3


def test_the_agent_refuses_a_reset_info_without_its_briefing() -> None:
    agent = LlmAgent(LlmSettings(model="m", base_url="http://127.0.0.1:9/v1"), client=None)
    with pytest.raises(ValueError, match="'briefing'"):
        agent.start("hello", {"seed": 1, "tools": []})
