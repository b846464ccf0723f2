"""What an agent is to tycoon: the one protocol every runner drives, and what it is given.

## The protocol

An agent sees the env only through its API: the observation text, the `info` dict (at
reset: the tool schemas in `info["tools"]`, the episode's `seed`, `episode_id` and
`briefing`, the public facts of the business) and the tools. It never reads the env's
tables or internals, so it works against any env exposing the same API.

`AsyncAgent` is the protocol the one episode loop (`tycoon.rollout.run_episode_async`,
behind `tycoon run`, `tycoon rollout`, the trainer API and the Ray actors) drives:

    agent.start(observation, info, journal)          # or agent.restore(history, ...)
    decision = await agent.decide()                  # decision.action: one tool call
    observation, ..., info = env.step(decision.action)
    agent.observe(decision, observation, info)

A synchronous `Agent` (reset / act: baseline, random, idle, replay, the misbehaving
agents, any scripted agent) runs under it through `SyncAgentAdapter`
(`tycoon.agents.adapters`); `as_async_agent` picks the adapter.

An agent that calls a model hands each call's record (`CallRecord`) to the `journal`
the runner gives it, before the call's tool call reaches the env; the runner writes it
(`llm_calls`). The agent never writes to a database.

## Resuming an agent

A run may be killed at any step and continued with `--resume`; the continuation must be
what the uninterrupted run would have done. The runner loads what the agent saw and
asked (`AgentHistory`: the reset view, each step's action, observation and info, and the
journal's call records) and gives it to `restore`:

- A synchronous agent must be a deterministic function of its constructor arguments
  (stored in the episode's `RunSpec`) and the sequence of (observation, info) it is
  given. It needs no code for resuming: the adapter resets it with the recorded reset
  view and calls `act` once per recorded step, fed the recorded views, without stepping
  the env (`tycoon.agents.history.rebuild`). Each replayed action is checked against
  the recorded one; a mismatch refuses the resume rather than continuing inexactly. So:
  draw randomness only from generators seeded in `__init__`/`reset`, never from the
  clock, the process or global state.
- The LLM agent (`tycoon.agents.llm`) rebuilds its conversation from its call records,
  without asking the model again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tycoon.envs.vending.actions import ToolCall


@runtime_checkable
class Agent(Protocol):
    """A synchronous agent. `reset` sees the first observation and info (with the tool
    schemas in `info["tools"]`); `act` returns the next tool call."""

    name: str

    def reset(self, observation: str, info: dict[str, Any]) -> None: ...

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall: ...


@dataclass
class CallRecord:
    """One model call an agent made: what it asked, what came back, the step its tool
    call becomes (None: the reply held no tool call). `id` counts the episode's calls
    from 1. The runner stores it as a row of `llm_calls` (same field names)."""

    id: int
    step: int | None
    model: str
    request: dict[str, Any]
    reply: dict[str, Any]
    tool_call: dict[str, Any] | None
    parse_status: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    attempts: int = 1
    prefix_reuse: float = 0.0
    prompt_token_ids: list[int] | None = None
    completion_token_ids: list[int] | None = None
    logprobs: list[float] | None = None


class CallJournal(Protocol):
    """Where an agent's call records go; `write` returns once the record is durable."""

    def write(self, record: CallRecord) -> None: ...


class NoJournal:
    """A journal that keeps records in memory only (an agent run outside a runner)."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def write(self, record: CallRecord) -> None:
        self.records.append(record)


@dataclass
class RecordedView:
    """One recorded step, as its agent saw it: its action, then the observation and
    info it got back (`info` None for steps written before views were stored)."""

    action: str
    observation: str
    info: dict[str, Any] | None


@dataclass
class AgentHistory:
    """What the agent of an episode saw and asked: the reset, one view per step (in
    step order, step n at index n - 1) and its model calls' records."""

    reset_observation: str | None
    reset_info: dict[str, Any] | None
    steps: list[RecordedView]
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every view was recorded (episodes written before views were stored
        lack them)."""
        return self.reset_info is not None and all(s.info is not None for s in self.steps)


class Decision(Protocol):
    """What `decide` returns: the tool call for the env, and the model's output tokens
    since the previous decision (for envs that bill them)."""

    action: Any
    completion_tokens: int


@runtime_checkable
class AsyncAgent(Protocol):
    """The one agent protocol the episode loop drives (see the module docstring)."""

    name: str

    def start(
        self, observation: str, info: dict[str, Any], journal: CallJournal | None = None
    ) -> None: ...

    def restore(
        self,
        history: AgentHistory,
        observation: str,
        info: dict[str, Any],
        journal: CallJournal | None = None,
    ) -> Decision | None:
        """Continue a resumed episode; return a decision that was made but never
        reached the env (the runner steps it before asking again), or None."""
        ...

    async def decide(self) -> Decision: ...

    def observe(self, decision: Any, observation: str, info: dict[str, Any]) -> None: ...


__all__ = [
    "Agent",
    "AgentHistory",
    "AsyncAgent",
    "CallJournal",
    "CallRecord",
    "Decision",
    "NoJournal",
    "RecordedView",
    "ToolCall",
]
