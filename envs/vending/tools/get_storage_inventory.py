from __future__ import annotations

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
        for item in sorted(items, key=lambda i: i.sku):
            product = world.products[item.sku]
            lines.append(
                f"- {item.sku} ({product.name}, {product.size}): {item.quantity} units "
                f"at {money(item.unit_cost_cents)} each"
            )
            data.append(
                {
                    "sku": item.sku,
                    "quantity": item.quantity,
                    "size": product.size,
                    "unit_cost_cents": item.unit_cost_cents,
                }
            )
        return ToolResult(text="\n".join(lines), data={"items": data})
