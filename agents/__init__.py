"""tycoon.agents: things that turn an observation into one tool call.

`AGENTS` maps a name to a factory (the class): `AGENTS["random"](seed=3)`. It is a plain
dict so that other agents (the LLM agent) can be added to it.
"""

from __future__ import annotations

from collections.abc import Callable

from tycoon.agents.adapters import SyncAgentAdapter, as_async_agent
from tycoon.agents.base import (
    Agent,
    AgentHistory,
    AsyncAgent,
    CallJournal,
    CallRecord,
    RecordedView,
    ToolCall,
)
from tycoon.agents.baseline import BaselineAgent, OracleAgent
from tycoon.agents.idle import IdleAgent
from tycoon.agents.llm import LlmAgent
from tycoon.agents.misbehaving import MISBEHAVING_AGENTS, MisbehavingAgent
from tycoon.agents.random_agent import RandomAgent
from tycoon.agents.replay import ReplayAgent

AGENTS: dict[str, Callable[..., Agent]] = {
    "baseline": BaselineAgent,
    # the baseline reading the env's hidden catalog: an upper reference, not a fair agent
    "oracle": OracleAgent,
    "random": RandomAgent,
    "idle": IdleAgent,
    "replay": ReplayAgent,
    "openai": LlmAgent,
    # one per probe, for testing the probes and the instrumentation (see misbehaving.py)
    **MISBEHAVING_AGENTS,
}

__all__ = [
    "AGENTS",
    "Agent",
    "AgentHistory",
    "AsyncAgent",
    "BaselineAgent",
    "CallJournal",
    "CallRecord",
    "IdleAgent",
    "MisbehavingAgent",
    "OracleAgent",
    "RandomAgent",
    "RecordedView",
    "ReplayAgent",
    "SyncAgentAdapter",
    "ToolCall",
    "as_async_agent",
]
