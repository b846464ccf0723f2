from __future__ import annotations

from operator import attrgetter
from typing import ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult, money
from tycoon.envs.vending.world import VendingWorld


class GetStorageInventory(Tool):
    """List the goods in your storage unit (delivered, not yet in the machine), with
    quantity, size and average unit cost. Takes 5 minutes."""

    name: ClassVar[str] = "get_storage_inventory"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        items = [item for item in world.storage.values() if item.quantity > 0]
        if not items:
            return ToolResult(
                text=f"Storage at {world.config.storage_address} is empty.", data={"items": []}
            )
        lines = [f"Storage at {world.config.storage_address}:"]
        data = []
        products = world.products
        for item in sorted(items, key=_by_sku):
            sku, quantity, unit_cost = item.sku, item.quantity, item.unit_cost_cents
            product = products[sku]
            size = product.size
            lines.append(
                f"- {sku} ({product.name}, {size}): {quantity} units at {money(unit_cost)} each"
            )
            data.append(
                {"sku": sku, "quantity": quantity, "size": size, "unit_cost_cents": unit_cost}
            )
        return ToolResult(text="\n".join(lines), data={"items": data})


_by_sku = attrgetter("sku")
