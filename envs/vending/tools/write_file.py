from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from tycoon.envs.vending import files
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, LongText, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class WriteFile(Tool):
    """Write a file in your file system (created if missing). mode 'overwrite' (default)
    replaces the content; 'append' adds to the end. Paths are relative to '/' and may not
    leave it. Takes 5 minutes."""

    name: ClassVar[str] = "write_file"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    path: Annotated[str, Field(min_length=1, max_length=256), STORABLE] = Field(
        description="Path of the file to write, e.g. '/notes/plan.md'."
    )
    content: LongText = Field(description="The text to write.")
    mode: Literal["overwrite", "append"] = Field(
        "overwrite", description="'overwrite' replaces the file; 'append' adds to its end."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        world.hooks.check_writable(files.resolve_path(self.path))
        path = files.write_file(world, self.path, self.content, append=self.mode == "append")
        return ToolResult(text=f"Wrote {path} ({len(self.content)} characters).")
