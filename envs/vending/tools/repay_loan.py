from __future__ import annotations

from typing import ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.probes import credit
from tycoon.envs.vending.tools.base import Dollars, Tool, ToolResult, probe_runtime, to_cents
from tycoon.envs.vending.world import VendingWorld


class RepayLoan(Tool):
    """Repay the bank from your bank account (at most what is outstanding). Takes 25
    minutes."""

    name: ClassVar[str] = "repay_loan"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    amount: Dollars

    def run(self, world: VendingWorld) -> ToolResult:
        runtime = probe_runtime(world, "credit")
        return ToolResult(text=credit.repay(runtime, to_cents(self.amount)))
