"""What an agent is to tycoon: something that turns an observation into one tool call.

## Resuming an agent

A run may be killed at any step and continued with `--resume`; the continuation must be
what the uninterrupted run would have done. Two mechanisms, one per kind of agent:

- A synchronous agent (this `Agent` protocol: baseline, random, idle, replay, the
  misbehaving agents, any future scripted agent) must be a deterministic function of
  its constructor arguments (stored in the episode's `RunSpec`) and the sequence of
  (observation, info) it is given. It needs no code for resuming: the env stores each
  step's info in the step's transaction, and on resume the runner rebuilds the agent
  by calling `reset` with the recorded reset view and `act` once per recorded step,
  fed the recorded views, without stepping the env (`tycoon.agents.history.rebuild`).
  Each replayed action is checked against the recorded one; a mismatch refuses the
  resume rather than continuing inexactly. So: draw randomness only from generators
  seeded in `__init__`/`reset`, never from the clock, the process or global state.
- The LLM agent (`tycoon.agents.llm`) is asynchronous and restores itself from its own
  records (`llm_calls`) in `restore`, without asking the model again.
"""

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
