"""Adapters that let every kind of agent run under the one episode loop.

`as_async_agent(agent)` returns an `AsyncAgent` (`tycoon.agents.base`) for:

- a synchronous `Agent` (reset / act): `SyncAgentAdapter`, which rebuilds it on resume
  from its recorded view (`tycoon.agents.history.rebuild`);
- an `AsyncAgent`: itself;
- an agent written against the runner's first async protocol (`start(env, observation,
  info)`, `restore(env, observation, info)`, `observe(decision, observation)`):
  `EnvAgentAdapter`, which hands it the env. Kept so that such agents keep working; new
  agents use the protocol of `tycoon.agents.base`, which never hands out the env.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any

from tycoon.agents.base import AgentHistory, AsyncAgent, CallJournal
from tycoon.agents.history import rebuild


@dataclass
class SyncDecision:
    action: Any
    completion_tokens: int = 0


class SyncAgentAdapter:
    """Runs a synchronous `Agent` (reset/act) under the async episode loop."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.name = agent.name
        self._observation = ""
        self._info: dict[str, Any] = {}

    def start(
        self, observation: str, info: dict[str, Any], journal: CallJournal | None = None
    ) -> None:
        self._observation, self._info = observation, info
        self.agent.reset(observation, info)

    def restore(
        self,
        history: AgentHistory,
        observation: str,
        info: dict[str, Any],
        journal: CallJournal | None = None,
    ) -> None:
        self._observation, self._info = rebuild(self.agent, history)

    async def decide(self) -> SyncDecision:
        # yield to the loop once a step: concurrent episodes interleave, and Ctrl-C
        # (asyncio.run cancels the main task) reaches a loop of steps that never wait
        await asyncio.sleep(0)
        return SyncDecision(self.agent.act(self._observation, self._info))

    def observe(self, decision: Any, observation: str, info: dict[str, Any]) -> None:
        self._observation, self._info = observation, info


class EnvAgentAdapter:
    """An agent of the first async protocol (it is handed the env) under the current one."""

    def __init__(self, agent: Any, env: Any) -> None:
        self.agent = agent
        self.env = env
        self.name = agent.name

    def start(
        self, observation: str, info: dict[str, Any], journal: CallJournal | None = None
    ) -> None:
        self.agent.start(self.env, observation, info)

    def restore(
        self,
        history: AgentHistory,
        observation: str,
        info: dict[str, Any],
        journal: CallJournal | None = None,
    ) -> Any:
        return self.agent.restore(self.env, observation, info)

    async def decide(self) -> Any:
        return await self.agent.decide()

    def observe(self, decision: Any, observation: str, info: dict[str, Any]) -> None:
        self.agent.observe(decision, observation)

    def __getattr__(self, name: str) -> Any:  # calls, mean_prefix_reuse, client, ...
        return getattr(self.agent, name)


def takes_env(agent: Any) -> bool:
    """Whether `agent.start` is of the first async protocol (its first parameter is the env)."""
    try:
        parameters = list(inspect.signature(agent.start).parameters)
    except (TypeError, ValueError):
        return False
    return bool(parameters) and parameters[0] == "env"


def as_async_agent(agent: Any, env: Any = None) -> AsyncAgent:
    """`agent` under the one async protocol (see the module docstring)."""
    if not hasattr(agent, "decide"):
        return SyncAgentAdapter(agent)
    if takes_env(agent):
        if env is None:
            raise TypeError(
                f"Expected an env for agent {agent.name!r}, whose start() takes the env"
            )
        return EnvAgentAdapter(agent, env)
    return agent


__all__ = ["EnvAgentAdapter", "SyncAgentAdapter", "SyncDecision", "as_async_agent"]
