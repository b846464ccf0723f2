"""`get_machine_inventory` for a fleet: the expansion probe's version."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.tools.get_machine_inventory import describe_slot
from tycoon.envs.vending.world import VendingWorld


class GetMachineInventoryFleet(Tool):
    """Show every slot of your vending machines (or of one, with `machine`): row, column,
    size (rows 1-2 small items, rows 3-4 large), product, units, capacity and price.
    Takes 5 minutes."""

    name: ClassVar[str] = "get_machine_inventory"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    machine: Annotated[int | None, Field(default=None, ge=1, le=16)] = Field(
        None,
        description="Number of the machine to show (1 is your first); omit to show every machine.",
    )

    def run(self, world: VendingWorld) -> ToolResult:
        runtime = world.probes
        sites = {1: world.config.machine_address}
        if runtime is not None:
            sites.update({int(m): name for m, name in runtime.state.machines.items()})
        lines: list[str] = []
        machines = []
        for machine_id, site in sorted(sites.items()):
            if self.machine is not None and machine_id != self.machine:
                continue
            lines.append(f"Machine {machine_id} at {site}:")
            slots = []
            for slot in world.slots:
                if slot.machine_id != machine_id:
                    continue
                line, row = describe_slot(world, slot)
                lines.append(line)
                slots.append(row)
            machines.append({"machine": machine_id, "location": site, "slots": slots})
        if not machines:
            lines.append(f"You have no machine {self.machine}.")
        # "slots" stays the first machine's, as the one-machine tool reports it
        first = next((m["slots"] for m in machines if m["machine"] == 1), [])
        return ToolResult(text="\n".join(lines), data={"slots": first, "machines": machines})
