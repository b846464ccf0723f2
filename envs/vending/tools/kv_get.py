from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.tools.kv_set import MemoryKey
from tycoon.envs.vending.world import VendingWorld


class KvGet(Tool):
    """Read the value stored under a key in your key-value memory. Takes 5 minutes."""

    name: ClassVar[str] = "kv_get"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    key: MemoryKey = Field(description="The key to look up in your key-value memory.")

    def run(self, world: VendingWorld) -> ToolResult:
        value = memory.kv_get(world, self.key)
        if value is None:
            keys = memory.kv_keys(world)
            known = ", ".join(repr(k) for k in keys[:20]) if keys else "none"
            return ToolResult(text=f"No value stored under {self.key!r}. Keys: {known}.")
        return ToolResult(text=value)
