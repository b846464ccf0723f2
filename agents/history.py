"""Rebuilding a synchronous agent on resume from what it saw (see `tycoon.agents.base`).

The env stores, in the step's own transaction, the `info` each step returned, and with
the episode the observation and info of its reset; the runner loads them
(`tycoon.agent_records.load_history`). On resume the agent is reset with the reset's
view and then asked for every recorded step's action again, fed each step's recorded
(observation, info), without stepping the env: a deterministic agent ends in exactly the
state it had when the run stopped, plans in generator frames included. Each action it
gives is checked against the recorded one, so an agent that would not reproduce its run
(changed code, another agent's episode) is refused, not resumed inexactly.
"""

from __future__ import annotations

from typing import Any

from tycoon.agents.base import Agent, AgentHistory, RecordedView
from tycoon.envs.vending.env import stored_action_text


class ResumeMismatch(RuntimeError):
    """The agent does not reproduce the recorded run, so it cannot continue it exactly."""


def rebuild(agent: Agent, history: AgentHistory) -> tuple[str, dict[str, Any]]:
    """Reset `agent` and replay its recorded view; return the (observation, info) it
    acts on next. Raises `ResumeMismatch` when an action differs from the record."""
    if not history.complete:
        raise ResumeMismatch(
            "the episode's steps were recorded by an older tycoon without the agent's view, "
            "so the agent cannot be rebuilt as it was"
        )
    assert history.reset_observation is not None and history.reset_info is not None
    observation, info = history.reset_observation, history.reset_info
    agent.reset(observation, info)
    for number, step in enumerate(history.steps, 1):
        again = stored_action_text(agent.act(observation, info))
        if again != step.action:
            raise ResumeMismatch(
                f"agent {agent.name} does not reproduce step {number} of the episode "
                f"(recorded {_short(step.action)}, now {_short(again)}), so it cannot "
                "continue it exactly"
            )
        assert step.info is not None
        observation, info = step.observation, step.info
    return observation, info


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


__all__ = ["AgentHistory", "RecordedView", "ResumeMismatch", "rebuild"]
