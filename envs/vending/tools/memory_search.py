from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class MemorySearch(Tool):
    """Search your long-term notes (saved with memory_add) for those most related to a
    query; returns the best matches with their day. Takes 5 minutes."""

    name: ClassVar[str] = "memory_search"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    query: Annotated[str, Field(min_length=1, max_length=1_000), STORABLE] = Field(
        description="What to look for in your notes, in plain words."
    )
    limit: Annotated[int, Field(ge=1, le=20)] = Field(
        5, description="How many best-matching notes to return (1-20)."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        hits = memory.search_notes(world, self.query, self.limit)
        if not hits:
            return ToolResult(text="No matching notes.")
        lines = [
            f"#{note.id} (day {note.day + 1}, match {score:.2f}): {note.value}"
            for score, note in hits
        ]
        return ToolResult(text="\n".join(lines))
