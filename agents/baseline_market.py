"""What the scripted operator believes about its market: sizes, fair costs, demand.

`ObservedMarket` (the `baseline` agent) knows only what an agent can observe: product
names and wholesale prices from supplier quotes, sizes from the names (and, once goods
are delivered, from the storage listing, which shows them), and its own sales. It prices
from cost (an operator's rule: one and a half times the unit cost plus 50 cents) and
learns each product's demand from what it sells at the prices it set. Before a product
has sold it expects $5 of sales a day from it, so a cheap product is expected to sell
more units than a dear one, and untried products get tried (the expectation is
optimistic for most).

`CatalogMarket` (the `oracle` agent) reads the env's hidden catalog: reference prices,
price elasticities, base daily sales and typical wholesale costs. No agent can observe
those, so the oracle is an upper reference, not a fair competitor.

Both give `plan_machine` the same `Candidate`s (size, unit cost, anchor price,
elasticity, daily sales at the anchor price).
"""

from __future__ import annotations

import re
from typing import Protocol

from tycoon.agents.baseline_books import PurchaseBooks
from tycoon.agents.baseline_plan import Candidate, round_to_nickel

MAX_COST_VS_TYPICAL = 1.3  # refuse unit prices this far above the typical wholesale cost

# The observing operator's priors, before its own sales say otherwise.
COST_MULTIPLE = 1.5  # retail price anchor: this many times the unit cost...
COST_MARKUP_CENTS = 50  # ...plus this
PRIOR_ELASTICITY = 1.5  # how much sales fall as the price rises (no sales data says more)
PRIOR_DAILY_REVENUE_CENTS = 500  # sales a day expected of a product before it has sold
PRIOR_WEIGHT_DAYS = 4.0  # after this many days of sales, observation and prior weigh the same
# Names that mean a large slot: drinks in cans and bottles, fresh food, pastries.
_LARGE_NAME = re.compile(r"\b(can|bottle|sandwich|muffin|bun)\b", re.IGNORECASE)
_SNACK_SANDWICH = re.compile(r"sandwich (cookies|crackers)", re.IGNORECASE)


class Market(Protocol):
    """What the planner needs to know about products (see the module docstring)."""

    replans: bool  # whether what it knows changes as the episode goes on

    def skus(self, books: PurchaseBooks) -> list[str]: ...

    def size(self, sku: str, books: PurchaseBooks) -> str: ...

    def cost_ceiling(self, sku: str, books: PurchaseBooks) -> float | None: ...

    def candidate(
        self, sku: str, unit_cost_cents: int, books: PurchaseBooks, sales: SalesRecord
    ) -> Candidate: ...

    def note_size(self, sku: str, size: str) -> bool: ...

    def default_price(self, sku: str) -> int | None:
        """The price a product has before the operator sets one, if it knows it."""
        ...


class SalesRecord:
    """What the operator saw a product sell: a smoothed daily rate at the price it set,
    and on how many days it saw it."""

    def __init__(self) -> None:
        self.rate: dict[str, float] = {}
        self.days: dict[str, int] = {}
        self.price: dict[str, int] = {}  # the price the rate was seen at (cents)


class ObservedMarket:
    """The `baseline` agent's market: only what it observed (see the module docstring)."""

    replans = True

    def __init__(self) -> None:
        self.sizes: dict[str, str] = {}  # seen in the storage listing

    def skus(self, books: PurchaseBooks) -> list[str]:
        return sorted(books.product_names)

    def size(self, sku: str, books: PurchaseBooks) -> str:
        if sku in self.sizes:
            return self.sizes[sku]
        name = books.product_names.get(sku, sku.replace("-", " "))
        return "large" if _LARGE_NAME.search(name) and not _SNACK_SANDWICH.search(name) else "small"

    def note_size(self, sku: str, size: str) -> bool:
        """Record a size the storage listing showed; whether it was news."""
        known = self.sizes.get(sku)
        self.sizes[sku] = size
        return known != size

    def default_price(self, sku: str) -> int | None:
        return None  # the machine's starting prices are not shown: set every price once

    def cost_ceiling(self, sku: str, books: PurchaseBooks) -> float | None:
        lowest = books.lowest_list_price(sku)
        return None if lowest is None else lowest * MAX_COST_VS_TYPICAL

    def anchor_cents(self, sku: str, books: PurchaseBooks) -> int:
        """The retail price the operator reasons from: cost-plus on the lowest list price."""
        cost = books.lowest_list_price(sku) or 0
        return round_to_nickel(COST_MULTIPLE * cost + COST_MARKUP_CENTS)

    @staticmethod
    def prior_daily_sales(anchor_cents: int) -> float:
        """Units a day expected before any are sold: cheap things sell more often."""
        return PRIOR_DAILY_REVENUE_CENTS / anchor_cents

    def candidate(
        self, sku: str, unit_cost_cents: int, books: PurchaseBooks, sales: SalesRecord
    ) -> Candidate:
        anchor = self.anchor_cents(sku, books)
        prior = self.prior_daily_sales(anchor)
        daily = prior
        days = sales.days.get(sku, 0)
        if days > 0 and sku in sales.rate:
            # the observed rate, brought back to the anchor price by the prior elasticity
            price = sales.price.get(sku, anchor)
            seen = sales.rate[sku] * (price / anchor) ** PRIOR_ELASTICITY
            weight = days / (days + PRIOR_WEIGHT_DAYS)
            daily = weight * seen + (1 - weight) * prior
        return Candidate(
            sku=sku,
            size=self.size(sku, books),
            unit_cost_cents=unit_cost_cents,
            reference_cents=anchor,
            elasticity=PRIOR_ELASTICITY,
            typical_daily_sales=daily,
        )


class CatalogMarket:
    """The `oracle` agent's market: the env's hidden catalog (see the module docstring)."""

    replans = False

    def __init__(self) -> None:
        from tycoon.envs.vending.catalog import CATALOG

        self.catalog = {product.sku: product for product in CATALOG}

    def skus(self, books: PurchaseBooks) -> list[str]:
        return list(self.catalog)

    def size(self, sku: str, books: PurchaseBooks) -> str:
        return str(self.catalog[sku].size)

    def note_size(self, sku: str, size: str) -> bool:
        return False

    def default_price(self, sku: str) -> int | None:
        return self.catalog[sku].reference_price_cents  # the machine's starting price

    def cost_ceiling(self, sku: str, books: PurchaseBooks) -> float | None:
        product = self.catalog.get(sku)
        return None if product is None else product.wholesale_high_cents * MAX_COST_VS_TYPICAL

    def candidate(
        self, sku: str, unit_cost_cents: int, books: PurchaseBooks, sales: SalesRecord
    ) -> Candidate:
        product = self.catalog[sku]
        return Candidate(
            sku=sku,
            size=str(product.size),
            unit_cost_cents=unit_cost_cents,
            reference_cents=product.reference_price_cents,
            elasticity=product.elasticity,
            typical_daily_sales=product.base_daily_sales,
        )
