from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import supplier_desk, suppliers
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class SearchWeb(Tool):
    """Search the web, e.g. 'wholesale soda supplier San Francisco'. Results list
    wholesalers with their email address, website and reviews; email them to ask for
    prices. Takes 25 minutes."""

    name: ClassVar[str] = "search_web"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    query: Annotated[str, Field(min_length=1, max_length=500), STORABLE] = Field(
        description="What to search for, e.g. 'wholesale soda supplier'."
    )
    limit: Annotated[int, Field(ge=1, le=10)] = Field(
        5, description="How many results to return at most (1-10)."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        directory = [supplier_desk.profile_of(world, s) for s in world.suppliers.values()]
        hits = suppliers.search_directory(directory, self.query, limit=self.limit)
        if not hits:
            return ToolResult(text=f"No results for {self.query!r}.", data={"results": []})
        blocks = [suppliers.format_search_result(profile) for profile in hits]
        data = [
            {"name": p.name, "email": p.email, "website": p.website, "skus": p.skus} for p in hits
        ]
        return ToolResult(text="\n\n".join(blocks), data={"results": data})
