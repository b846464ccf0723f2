from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Dollars, Sku, Tool, ToolResult, money, to_cents
from tycoon.envs.vending.world import VendingWorld


class SetPrice(Tool):
    """Set the machine's selling price of a product, in dollars (applies to every slot
    holding it, from now on). Products without a set price sell at their typical retail
    price. Takes 25 minutes."""

    name: ClassVar[str] = "set_price"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    sku: Sku = Field(description="Product id of the item in your machine, e.g. 'cola-can-12oz'.")
    price: Dollars = Field(description="New retail price in dollars per unit, e.g. 1.75.")

    def run(self, world: VendingWorld) -> ToolResult:
        product = world.product(self.sku)
        cents = to_cents(self.price)
        old = world.price_of(product.sku)
        world.set_price(product.sku, cents)
        return ToolResult(
            text=f"Price of {product.name} ({product.sku}) set to {money(cents)} "
            f"(was {money(old)})."
        )
