from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import files
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class ReadFile(Tool):
    """Read a file from your file system, e.g. 'notes/operations.md'. Takes 5 minutes."""

    name: ClassVar[str] = "read_file"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    path: Annotated[str, Field(min_length=1, max_length=256), STORABLE] = Field(
        description="Path of the file to read, e.g. '/ops/schedule.yaml'."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        return ToolResult(text=files.read_file(world, self.path))
