"""The one agent protocol and the one episode loop: what the runner gives an agent (reset
info, a journal, on resume its history) and what it writes for it (issue 8)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import gymnasium
from sqlalchemy import select

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agents import AGENTS, AsyncAgent, SyncAgentAdapter, as_async_agent
from tycoon.agents.adapters import EnvAgentAdapter
from tycoon.agents.base import AgentHistory, CallJournal, CallRecord
from tycoon.envs.vending.actions import ToolCall
from tycoon.envs.world.schema import LlmCall
from tycoon.envs.world.store import WorldStore
from tycoon.rollout import run_episode_async


@dataclass
class _Decision:
    action: Any
    completion_tokens: int = 0


class JournallingAgent:
    """Waits every step and journals one pretend model call per step."""

    name = "journalling"

    def __init__(self) -> None:
        self.journal: CallJournal | None = None
        self.next_id, self.step = 1, 1
        self.started_with: dict[str, Any] = {}
        self.history: AgentHistory | None = None

    def start(self, observation: str, info: dict[str, Any], journal: CallJournal | None = None):
        self.started_with, self.journal = info, journal
        self.step = int(info["step"]) + 1

    def restore(self, history, observation, info, journal=None):
        self.start(observation, info, journal)
        self.history = history
        self.next_id = history.calls[-1].id + 1 if history.calls else 1
        return None

    async def decide(self) -> _Decision:
        assert self.journal is not None
        self.journal.write(
            CallRecord(
                id=self.next_id,
                step=self.step,
                model="none",
                request={"asked": self.next_id},
                reply={"said": "wait"},
                tool_call={"name": "wait_for_next_day", "arguments": {}},
                parse_status="ok",
            )
        )
        self.next_id += 1
        return _Decision(ToolCall(name="wait_for_next_day"))

    def observe(self, decision: Any, observation: str, info: dict[str, Any]) -> None:
        self.step = int(info["step"]) + 1


class FirstProtocolAgent:
    """An agent of the runner's first async protocol (handed the env)."""

    name = "first"

    def start(self, env: Any, observation: str, info: dict[str, Any]) -> None:
        self.env = env

    def restore(self, env: Any, observation: str, info: dict[str, Any]) -> None: ...

    async def decide(self) -> _Decision:
        return _Decision(ToolCall(name="get_balance"))

    def observe(self, decision: Any, observation: str) -> None:
        self.seen = observation


def test_as_async_agent_adapts_each_kind_of_agent() -> None:
    assert isinstance(as_async_agent(AGENTS["idle"]()), SyncAgentAdapter)
    journalling = JournallingAgent()
    assert as_async_agent(journalling) is journalling
    assert isinstance(journalling, AsyncAgent)
    assert isinstance(as_async_agent(FirstProtocolAgent(), env=object()), EnvAgentAdapter)


def test_the_runner_journals_calls_and_hands_them_back_on_resume(tmp_path) -> None:
    store = WorldStore(tmp_path / "protocol.db")
    make = lambda: gymnasium.make(  # noqa: E731
        "tycoon/VendingClassic-v0", store=store, config={"max_days": 20}
    )
    first = JournallingAgent()
    result = asyncio.run(run_episode_async(make(), first, seed=4, max_steps=3))
    # the reset info carries what an agent needs: tools, seed, episode, the briefing
    info = first.started_with
    assert info["seed"] == 4 and info["episode_id"] == result.episode_id
    assert {"tools", "briefing"} <= set(info) and info["briefing"]["score"] == "net_worth"
    with store.session() as session:
        rows = session.execute(
            select(LlmCall.id, LlmCall.step, LlmCall.request).where(
                LlmCall.episode_id == result.episode_id
            )
        ).all()
    assert [(r.id, r.step, r.request) for r in rows] == [
        (1, 1, {"asked": 1}),
        (2, 2, {"asked": 2}),
        (3, 3, {"asked": 3}),
    ]
    again = JournallingAgent()
    resumed = asyncio.run(run_episode_async(make(), again, resume=result.episode_id, max_steps=2))
    history = again.history
    assert history is not None and len(history.steps) == 3 and len(history.calls) == 3
    assert [c.request for c in history.calls] == [{"asked": 1}, {"asked": 2}, {"asked": 3}]
    assert history.steps[0].info is not None and history.reset_info is not None
    assert resumed.summary is not None and resumed.summary.steps == 5
    with store.session() as session:
        ids = session.scalars(
            select(LlmCall.id).where(LlmCall.episode_id == result.episode_id)
        ).all()
    assert sorted(ids) == [1, 2, 3, 4, 5]


def test_an_agent_of_the_first_async_protocol_still_runs(tmp_path) -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "first.db"))
    agent = FirstProtocolAgent()
    result = asyncio.run(run_episode_async(env, agent, seed=1, max_steps=2))
    assert result.steps == 2 and agent.env is env and "balance" in agent.seen.lower()
