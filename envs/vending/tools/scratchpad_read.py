from __future__ import annotations

from typing import ClassVar

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class ScratchpadRead(Tool):
    """Read your scratchpad (see scratchpad_write). Takes 5 minutes."""

    name: ClassVar[str] = "scratchpad_read"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        text = memory.scratchpad(world)
        return ToolResult(text=text if text else "Your scratchpad is empty.")
