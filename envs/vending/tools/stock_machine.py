from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Quantity, Sku, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld, WorldError
from tycoon.envs.world.state_rows import MachineSlot

SlotIndex = Annotated[int | None, Field(default=None, ge=1, le=4)]


class StockMachine(Tool):
    """Move units of a product from storage into the vending machine. Small items go in
    rows 1-2, large items in rows 3-4. Without row/col the product goes to the slot that
    already holds it, else the first empty slot of its size; units beyond the slot's
    capacity stay in storage. A slot holds one product. Takes 75 minutes."""

    name: ClassVar[str] = "stock_machine"
    time_cost: ClassVar[TimeCost] = TimeCost.PHYSICAL

    sku: Sku = Field(description="Product id of the item in storage, e.g. 'cola-can-12oz'.")
    quantity: Quantity = Field(description="How many units to move from storage into the machine.")
    row: SlotIndex = Field(
        None,
        description="Slot row, 1-2 for small items, 3-4 for large; give with col, or omit both.",
    )
    col: Annotated[int | None, Field(default=None, ge=1, le=3)] = Field(
        None, description="Slot column, 1-3; give with row, or omit both."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        product = world.product(self.sku)
        stored = world.storage.get(product.sku)
        if stored is None or stored.quantity <= 0:
            raise WorldError(f"No {product.sku} in storage; order it from a supplier first.")
        slot = self._choose_slot(world, product.sku, product.size)
        room = slot.capacity - slot.quantity
        if room <= 0:
            raise WorldError(
                f"Slot row {slot.row + 1} col {slot.col + 1} is full "
                f"({slot.quantity}/{slot.capacity})."
            )
        moved = min(self.quantity, stored.quantity, room)
        total_cost = slot.quantity * slot.unit_cost_cents + moved * stored.unit_cost_cents
        slot.sku = product.sku
        slot.quantity += moved
        slot.unit_cost_cents = round(total_cost / slot.quantity)
        stored.quantity -= moved
        notes = []
        if moved < self.quantity:
            notes.append(f"{self.quantity - moved} requested units not moved (slot room or stock)")
        return ToolResult(
            text=f"Stocked {moved} x {product.sku} in row {slot.row + 1} col {slot.col + 1} "
            f"({slot.quantity}/{slot.capacity}); {stored.quantity} left in storage."
            + (f" Note: {'; '.join(notes)}." if notes else ""),
            data={"moved": moved, "row": slot.row + 1, "col": slot.col + 1},
        )

    def _slots(self, world: VendingWorld) -> list[MachineSlot]:
        return world.slots

    def _choose_slot(self, world: VendingWorld, sku: str, size: str) -> MachineSlot:
        slots = self._slots(world)
        if (self.row is None) != (self.col is None):
            raise WorldError("Give both row and col, or neither.")
        if self.row is not None and self.col is not None:
            slot = next(s for s in slots if s.row == self.row - 1 and s.col == self.col - 1)
            if slot.size != size:
                raise WorldError(
                    f"Expected a {size} slot for {sku}, got row {self.row} which takes "
                    f"{slot.size} items."
                )
            if slot.sku not in (None, sku) and slot.quantity > 0:
                raise WorldError(
                    f"Row {self.row} col {self.col} holds {slot.sku}; a slot holds one product."
                )
            return slot
        holding = next((s for s in slots if s.sku == sku and s.quantity < s.capacity), None)
        if holding is not None:
            return holding
        empty = next(
            (s for s in slots if s.size == size and (s.sku is None or s.quantity == 0)), None
        )
        if empty is None:
            raise WorldError(f"No free {size} slot: every {size} slot holds another product.")
        return empty
