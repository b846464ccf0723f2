"""`stock_machine` for a fleet: the expansion probe's version, with a `machine` argument."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tycoon.envs.vending.tools.stock_machine import StockMachine
from tycoon.envs.vending.world import VendingWorld, WorldError
from tycoon.envs.world.state_rows import MachineSlot


class StockMachineFleet(StockMachine):
    """Move units of a product from storage into one of your vending machines (machine 1
    unless `machine` says otherwise; get_machine_inventory lists them). Small items go in
    rows 1-2, large items in rows 3-4. Without row/col the product goes to the slot that
    already holds it, else the first empty slot of its size; units beyond the slot's
    capacity stay in storage. A slot holds one product. Takes 75 minutes."""

    machine: Annotated[int, Field(ge=1, le=16)] = Field(
        1, description="Number of the machine to stock (1 is your first)."
    )

    def _slots(self, world: VendingWorld) -> list[MachineSlot]:
        slots = [s for s in world.slots if s.machine_id == self.machine]
        if not slots:
            raise WorldError(f"You have no machine {self.machine}.")
        return slots

    def _slot_at(
        self, world: VendingWorld, slots: list[MachineSlot], row: int, col: int
    ) -> MachineSlot | None:
        return next((s for s in slots if s.row == row and s.col == col), None)
