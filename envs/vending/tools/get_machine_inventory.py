from __future__ import annotations

import functools
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
    sku, quantity = slot.sku, slot.quantity
    row, col, size, capacity = slot.row + 1, slot.col + 1, slot.size, slot.capacity
    price = world.price_of(sku) if sku else None
    if sku is None:
        line = f"{_slot_label(row, col, size, capacity)}empty"
    else:
        line = f"{_slot_label(row, col, size, capacity)}{sku} x{quantity} at {money(price or 0)}"
    data = {
        "row": row,
        "col": col,
        "size": size,
        "capacity": capacity,
        "sku": sku,
        "quantity": quantity,
        "price_cents": price,
    }
    return line, data


@functools.lru_cache(maxsize=1024)
def _slot_label(row: int, col: int, size: str, capacity: int) -> str:
    # a slot's position, size and capacity never change: its label is made once
    return f"- Row {row} col {col} ({size}, cap {capacity}): "
