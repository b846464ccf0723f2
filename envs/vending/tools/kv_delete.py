from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.tools.kv_set import MemoryKey
from tycoon.envs.vending.world import VendingWorld


class KvDelete(Tool):
    """Delete a key from your key-value memory. Takes 5 minutes."""

    name: ClassVar[str] = "kv_delete"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    key: MemoryKey = Field(description="The key to delete from your key-value memory.")

    def run(self, world: VendingWorld) -> ToolResult:
        deleted = memory.kv_delete(world, self.key)
        return ToolResult(text=f"Deleted {self.key!r}." if deleted else f"No key {self.key!r}.")
