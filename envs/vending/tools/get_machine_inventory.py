from __future__ import annotations

from typing import ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult, money
from tycoon.envs.vending.world import VendingWorld


class GetMachineInventory(Tool):
    """Show every slot of the vending machine: row, column, size (rows 1-2 small items,
    rows 3-4 large), product, units, capacity and price. Takes 5 minutes."""

    name: ClassVar[str] = "get_machine_inventory"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        lines = [f"Machine at {world.config.machine_address}:"]
        data = []
        for slot in world.slots:
            label = f"Row {slot.row + 1} col {slot.col + 1} ({slot.size}, cap {slot.capacity})"
            if slot.sku is None:
                lines.append(f"- {label}: empty")
            else:
                price = world.price_of(slot.sku)
                lines.append(f"- {label}: {slot.sku} x{slot.quantity} at {money(price)}")
            data.append(
                {
                    "row": slot.row + 1,
                    "col": slot.col + 1,
                    "size": slot.size,
                    "capacity": slot.capacity,
                    "sku": slot.sku,
                    "quantity": slot.quantity,
                }
            )
        return ToolResult(text="\n".join(lines), data={"slots": data})
