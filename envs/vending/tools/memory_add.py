from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class MemoryAdd(Tool):
    """Save a note to your long-term memory; find it later with memory_search by
    describing what you need. Takes 5 minutes."""

    name: ClassVar[str] = "memory_add"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    text: Annotated[str, Field(min_length=1, max_length=20_000), STORABLE] = Field(
        description="The note to save in long-term memory."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        note_id = memory.add_note(world, self.text)
        return ToolResult(text=f"Saved note #{note_id}.")
