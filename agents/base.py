"""What an agent is to tycoon: something that turns an observation into one tool call."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from tycoon.envs.vending.actions import ToolCall


@runtime_checkable
class Agent(Protocol):
    """A synchronous agent. `reset` sees the first observation and info (with the tool
    schemas in `info["tools"]`); `act` returns the next tool call."""

    name: str

    def reset(self, observation: str, info: dict[str, Any]) -> None: ...

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall: ...


__all__ = ["Agent", "ToolCall"]
