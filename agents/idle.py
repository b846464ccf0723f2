"""IdleAgent: does nothing but wait, day after day (the do-nothing floor of any score)."""

from __future__ import annotations

from typing import Any

from tycoon.envs.vending.actions import ToolCall

WAIT = ToolCall(name="wait_for_next_day")


class IdleAgent:
    """Only ever calls `wait_for_next_day`: the business pays its daily fee from the
    starting cash and sells nothing."""

    name = "idle"

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        pass

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        return WAIT
