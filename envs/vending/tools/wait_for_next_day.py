from __future__ import annotations

from typing import ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class WaitForNextDay(Tool):
    """End the day and sleep until 06:00 tomorrow. Overnight, customers buy from the
    machine, card sales settle to your bank, suppliers answer emails, deliveries arrive
    and the daily fee is charged. The result summarises what happened."""

    name: ClassVar[str] = "wait_for_next_day"
    time_cost: ClassVar[TimeCost] = TimeCost.INSTANT

    def run(self, world: VendingWorld) -> ToolResult:
        return ToolResult(text="", ends_day=True)
