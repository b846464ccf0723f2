from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending import payments
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import (
    STORABLE,
    Dollars,
    ShortText,
    Tool,
    ToolResult,
    money,
    to_cents,
)
from tycoon.envs.vending.world import BANK, VendingWorld, WorldError


class SendPayment(Tool):
    """Pay money from your bank account to another account: a supplier's payment account
    (named on its invoice; put the invoice number, e.g. 'INV-7', in the memo so the
    supplier ships) or a customer's refund account (put the request id, e.g. 'REF-3', in
    the memo). Payments cannot be undone. Takes 25 minutes."""

    name: ClassVar[str] = "send_payment"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    to_account: Annotated[str, Field(min_length=1, max_length=64), STORABLE] = Field(
        description="The payee's account, e.g. from an invoice or a refund request."
    )
    amount: Dollars = Field(description="Dollars to pay, e.g. 84.50.")
    memo: ShortText = Field(
        "", description="Reference for the payee, e.g. the invoice 'INV-7' or the request 'REF-3'."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        cents = to_cents(self.amount)
        if cents <= 0:
            raise WorldError(f"Expected an amount of at least $0.01, got {self.amount}")
        if cents > world.config.max_payment_cents:
            raise WorldError(
                f"Expected at most {money(world.config.max_payment_cents)}, got {money(cents)}"
            )
        world.hooks.check_payment(cents, self.to_account.strip())
        bank = world.balance(BANK)
        if cents > bank:
            raise WorldError(
                f"Insufficient funds: paying {money(cents)}, bank holds {money(bank)}."
            )
        payee = payments.find_payee(world, self.to_account.strip())
        world.transfer(BANK, payee.account, cents, kind=payee.kind, memo=self.memo)
        outcome = payee.apply(world, cents, self.memo)
        return ToolResult(
            text=f"Paid {money(cents)} to {payee.account}. {outcome} "
            f"Bank balance: {money(world.balance(BANK))}."
        )
