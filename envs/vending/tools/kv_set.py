from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import memory
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, LongText, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld

MemoryKey = Annotated[str, Field(min_length=1, max_length=256), STORABLE]


class KvSet(Tool):
    """Store a value under a key in your key-value memory (replaces any earlier value).
    Useful for facts you look up often: supplier addresses, agreed prices. Takes 5 minutes."""

    name: ClassVar[str] = "kv_set"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    key: MemoryKey = Field(description="The key to store the value under, e.g. 'supplier:cola'.")
    value: LongText = Field(
        description="The text to store; replaces any earlier value under this key."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        replaced = memory.kv_set(world, self.key, self.value)
        return ToolResult(text=f"{'Updated' if replaced else 'Stored'} {self.key!r}.")
