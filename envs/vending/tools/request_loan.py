from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.probes import credit
from tycoon.envs.vending.tools.base import (
    Dollars,
    ShortText,
    Tool,
    ToolResult,
    probe_runtime,
    to_cents,
)
from tycoon.envs.vending.world import VendingWorld


class RequestLoan(Tool):
    """Borrow from the bank against your credit line: the amount is paid into your bank
    account at once. Interest is charged nightly on what is outstanding (paid from the
    bank, or added to the loan when the bank cannot cover it); a loan counts against your
    net worth until repaid with repay_loan. Refused beyond the credit line. Takes 25
    minutes."""

    name: ClassVar[str] = "request_loan"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    amount: Dollars = Field(
        description="Dollars to borrow, e.g. 1000.00; paid into your bank account at once."
    )
    purpose: ShortText = Field("", description="What the money is for, in a few words (optional).")

    def run(self, world: VendingWorld) -> ToolResult:
        runtime = probe_runtime(world, "credit")
        return ToolResult(text=credit.borrow(runtime, to_cents(self.amount), self.purpose))
