from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import LongText, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class ScratchpadWrite(Tool):
    """Write to your scratchpad, a single free-form note that persists across days and
    survives when old conversation is dropped from your context. mode 'append' (default)
    adds to the end; 'replace' overwrites it. Takes 5 minutes."""

    name: ClassVar[str] = "scratchpad_write"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    text: LongText = Field(description="The text to write to your scratchpad.")
    mode: Literal["append", "replace"] = Field(
        "append", description="'append' adds to the scratchpad; 'replace' overwrites all of it."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        size = memory.write_scratchpad(world, self.text, replace=self.mode == "replace")
        return ToolResult(text=f"Scratchpad saved ({size} characters).")
