from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.probes import credit
from tycoon.envs.vending.tools.base import Dollars, Tool, ToolResult, probe_runtime, to_cents
from tycoon.envs.vending.world import VendingWorld


class RepayLoan(Tool):
    """Repay the bank from your bank account (at most what is outstanding). Takes 25
    minutes."""

    name: ClassVar[str] = "repay_loan"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    amount: Dollars = Field(description="Dollars to repay from your bank account, e.g. 250.00.")

    def run(self, world: VendingWorld) -> ToolResult:
        runtime = probe_runtime(world, "credit")
        return ToolResult(text=credit.repay(runtime, to_cents(self.amount)))
