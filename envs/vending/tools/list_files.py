from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import files
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class ListFiles(Tool):
    """List the files in your file system under a directory (default: everything).
    Takes 5 minutes."""

    name: ClassVar[str] = "list_files"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    directory: Annotated[str, Field(max_length=256), STORABLE] = Field(
        "/", description="Directory to list, e.g. '/ops'; '/' lists every file."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        paths = files.list_paths(world, self.directory)
        if not paths:
            return ToolResult(text=f"No files under {files.resolve_path(self.directory)}.")
        return ToolResult(text="\n".join(paths), data={"paths": paths})
