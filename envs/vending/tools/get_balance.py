from __future__ import annotations

from typing import ClassVar

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult, money
from tycoon.envs.vending.world import BANK, CARD_CLEARING, MACHINE_CASH, VendingWorld


class GetBalance(Tool):
    """Show your money: bank balance, cash waiting in the machine (collect it with
    collect_cash), card sales settling tomorrow, stock at cost and net worth.
    Takes 5 minutes."""

    name: ClassVar[str] = "get_balance"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    def run(self, world: VendingWorld) -> ToolResult:
        data = {
            "bank_cents": world.balance(BANK),
            "machine_cash_cents": world.balance(MACHINE_CASH),
            "card_pending_cents": world.balance(CARD_CLEARING),
            "inventory_cents": world.inventory_value_cents(),
            "net_worth_cents": world.net_worth_cents(),
        }
        text = (
            f"Bank balance: {money(data['bank_cents'])}\n"
            f"Cash in machine (uncollected): {money(data['machine_cash_cents'])}\n"
            f"Card sales settling tomorrow: {money(data['card_pending_cents'])}\n"
            f"Inventory at cost: {money(data['inventory_cents'])}\n"
            f"Net worth: {money(data['net_worth_cents'])}"
        )
        return ToolResult(text=text, data=data)
