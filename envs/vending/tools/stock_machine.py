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
        sku = product.sku
        stored = world.storage.get(sku)
        if stored is None or stored.quantity <= 0:
            raise WorldError(f"No {sku} in storage; order it from a supplier first.")
        slot = self._choose_slot(world, sku, product.size)
        quantity, capacity = slot.quantity, slot.capacity
        room = capacity - quantity
        if room <= 0:
            raise WorldError(
                f"Slot row {slot.row + 1} col {slot.col + 1} is full ({quantity}/{capacity})."
            )
        wanted = self.quantity
        moved = min(wanted, stored.quantity, room)
        total_cost = quantity * slot.unit_cost_cents + moved * stored.unit_cost_cents
        if slot.sku != sku:  # an unchanged column is not assigned (nor written) again
            slot.sku = sku
        quantity += moved
        slot.quantity = quantity
        slot.unit_cost_cents = round(total_cost / quantity)
        left = stored.quantity - moved
        stored.quantity = left
        row, col = slot.row + 1, slot.col + 1
        text = (
            f"Stocked {moved} x {sku} in row {row} col {col} ({quantity}/{capacity}); "
            f"{left} left in storage."
        )
        if moved < wanted:
            text += f" Note: {wanted - moved} requested units not moved (slot room or stock)."
        return ToolResult(text=text, data={"moved": moved, "row": row, "col": col})

    def _slots(self, world: VendingWorld) -> list[MachineSlot]:
        return world.slots

    def _slot_at(
        self, world: VendingWorld, slots: list[MachineSlot], row: int, col: int
    ) -> MachineSlot | None:
        """The slot at a 0-based position among `slots` (the first machine's with one there)."""
        return world.slot_at.get((row, col))

    def _choose_slot(self, world: VendingWorld, sku: str, size: str) -> MachineSlot:
        slots = self._slots(world)
        row, col = self.row, self.col
        if (row is None) != (col is None):
            raise WorldError("Give both row and col, or neither.")
        if row is not None and col is not None:
            slot = self._slot_at(world, slots, row - 1, col - 1)
            if slot is None:
                raise WorldError(
                    f"Expected a slot of the machine, got row {row} col {col}: it has "
                    f"{world.config.machine_rows} rows and {world.config.machine_cols} columns."
                )
            if slot.size != size:
                raise WorldError(
                    f"Expected a {size} slot for {sku}, got row {row} which takes "
                    f"{slot.size} items."
                )
            if slot.sku not in (None, sku) and slot.quantity > 0:
                raise WorldError(f"Row {row} col {col} holds {slot.sku}; a slot holds one product.")
            return slot
        # the first slot holding the product with room left, else the first empty one of
        # its size (one pass)
        empty = None
        for slot in slots:
            if slot.sku == sku and slot.quantity < slot.capacity:
                return slot
            if empty is None and slot.size == size and (slot.sku is None or slot.quantity == 0):
                empty = slot
        if empty is None:
            raise WorldError(f"No free {size} slot: every {size} slot holds another product.")
        return empty
