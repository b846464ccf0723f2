from __future__ import annotations

from typing import Any, ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult, money
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world.state_rows import MachineSlot


class GetMachineInventory(Tool):
    """Show every slot of the vending machine: row, column, size (rows 1-2 small items,
    rows 3-4 large), product, units, capacity and price. Takes 5 minutes."""

    name: ClassVar[str] = "get_machine_inventory"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        lines = [f"Machine at {world.config.machine_address}:"]
        data = []
        for slot in world.slots:
            line, row = describe_slot(world, slot)
            lines.append(line)
            data.append(row)
        return ToolResult(text="\n".join(lines), data={"slots": data})


def describe_slot(world: VendingWorld, slot: MachineSlot) -> tuple[str, dict[str, Any]]:
    """One slot as a line for the agent and a dict for scripted agents."""
    label = f"Row {slot.row + 1} col {slot.col + 1} ({slot.size}, cap {slot.capacity})"
    price = world.price_of(slot.sku) if slot.sku else None
    if slot.sku is None:
        line = f"- {label}: empty"
    else:
        line = f"- {label}: {slot.sku} x{slot.quantity} at {money(price or 0)}"
    row = {
        "row": slot.row + 1,
        "col": slot.col + 1,
        "size": slot.size,
        "capacity": slot.capacity,
        "sku": slot.sku,
        "quantity": slot.quantity,
        "price_cents": price,
    }
    return line, row
