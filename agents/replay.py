"""ReplayAgent: plays back the actions of a recorded run, one per step.

Give it the actions (JSON strings as the env records them, dicts or `ToolCall`s); the
runner side reads a recorded episode's actions (`tycoon.agent_records.recorded_actions`,
the `steps` table in step order). Replayed on a fresh env with the same seed and config, it
reproduces the run: the same observations, rewards and final `state_hash()`.

Once the recording is exhausted it waits for the next day (`wait_for_next_day`) on
every step, so an episode can be run on past the end of its recording.

A recorded action that is not a tool call at all (broken JSON, say) cannot be a
`ToolCall`; it is replayed as a call to the tool `UNPARSEABLE_TOOL`, which the env
rejects just as it rejected the original, changing no state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tycoon.envs.vending.actions import ActionError, ToolCall, parse_action

UNPARSEABLE_TOOL = "unparseable_recorded_action"
WAIT = ToolCall(name="wait_for_next_day")


def as_tool_call(action: str | bytes | dict[str, Any] | ToolCall) -> ToolCall:
    """A recorded action as a `ToolCall` (see the module docstring for unparseable ones)."""
    try:
        return parse_action(action)
    except ActionError:
        text = action.decode("utf-8", "replace") if isinstance(action, bytes) else str(action)
        return ToolCall(name=UNPARSEABLE_TOOL, arguments={"recorded": text[:1000]})


class ReplayAgent:
    """Replays recorded actions in order, then waits for the next day forever."""

    name = "replay"

    def __init__(self, actions: Iterable[str | bytes | dict[str, Any] | ToolCall]) -> None:
        self.actions: list[ToolCall] = [as_tool_call(action) for action in actions]
        self.position = 0

    @property
    def exhausted(self) -> bool:
        return self.position >= len(self.actions)

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.position = 0

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        if self.exhausted:
            return WAIT
        action = self.actions[self.position]
        self.position += 1
        return action
