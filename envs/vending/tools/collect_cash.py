from __future__ import annotations

from typing import ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult, money
from tycoon.envs.vending.world import BANK, MACHINE_CASH, VendingWorld


class CollectCash(Tool):
    """Go to the machine, take out the cash customers paid and deposit it in your bank.
    Card payments need no collecting. Takes 75 minutes."""

    name: ClassVar[str] = "collect_cash"
    time_cost: ClassVar[TimeCost] = TimeCost.PHYSICAL

    def run(self, world: VendingWorld) -> ToolResult:
        cash = world.balance(MACHINE_CASH)
        if cash <= 0:
            return ToolResult(text="The machine holds no cash.", data={"collected_cents": 0})
        world.transfer(MACHINE_CASH, BANK, cash, kind="cash_collection")
        return ToolResult(
            text=f"Collected {money(cash)} and deposited it. Bank balance: "
            f"{money(world.balance(BANK))}.",
            data={"collected_cents": cash},
        )
