"""Customers at one site choosing among several vending machines: pure functions.

The single-machine demand model (`tycoon.envs.vending.demand`) gives each product a daily
demand from its base sales, the price against the reference price (constant elasticity),
the weekday, the month, the weather and the machine's variety. In a market the same
people walk past several machines, so demand is shared:

- A machine's *attraction* for a product is what the single-machine model multiplies the
  base by: `price_factor(price) x choice_multiplier(the machine's variety) x reputation`.
  A machine whose slot for the product is empty (or that does not list it) attracts no
  one for it.
- The site's demand for the product pools the machines' attractions with a CES (nested
  logit) aggregator, `pooled = (sum_m A_m ** (1 / rho)) ** rho`, `0 < rho <= 1`:

      expected(product) = base x weekday x month x weather(category) x pooled x noise

  With one machine `pooled = A` and this is exactly the single-machine model. Two
  identical machines pool to `2 ** rho` times one (default rho = 0.3: about 1.23x, a
  second machine adds a little footfall, not a second market).
- Customers split among the machines by discrete choice, machine m's share being
  `A_m ** (1 / rho) / sum A ** (1 / rho)`: with the default rho a machine 10% cheaper
  than an identical rival (elasticity 2) takes about two thirds of the product's sales;
  an empty slot sends its customers to the machines that have the product.
- Each machine's demand is a Poisson draw around its share; units sold are capped by its
  stock; customers who found the machine's stock short try once more among the machines
  that still have the product, split by their shares (a multinomial draw, spill-over).
- A machine that lists a product but has none records the demand it would have had
  (its share if it had been stocked) as `unmet_units`, so its customers' stock-out
  complaints work as in the single-machine env.

Draws (deterministic order, from the one generator passed in): per product in sku order,
one normal (the product's noise, shared by the site), then per machine in machine order
the Poisson demand and, for listings that are empty, the Poisson of the unmet demand;
then per product in sku order the spill-over multinomial; then per machine in order, per product in sku order, the
card/cash binomial. Equal generator states and inputs give equal sales.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from tycoon.envs.vending.demand import (
    DEFAULT_DEMAND_RULES,
    DayContext,
    DemandRules,
    Listing,
    Sale,
    choice_multiplier,
    day_of_week_factor,
    distinct_products_on_offer,
    month_factor,
    paid_sale,
    price_factor,
    weather_factor,
)


class MarketRules(BaseModel, frozen=True):
    """The numbers of the shared site (the demand rules of one machine apply as well).

    - rho = 0.3: how much machines compete (1: every machine is its own market; toward 0:
      one fixed pool of customers split by attraction).
    """

    rho: float = Field(default=0.3, gt=0, le=1)
    demand: DemandRules = DEFAULT_DEMAND_RULES


DEFAULT_MARKET_RULES = MarketRules()


class MachineOffer(BaseModel):
    """One machine at the site: what it lists today and how well it is liked."""

    machine: str
    listings: list[Listing]
    reputation: float = Field(default=1.0, ge=0.5, le=1.2)


def attraction(
    listing: Listing, variety: float, reputation: float, rules: DemandRules = DEFAULT_DEMAND_RULES
) -> float:
    """What draws a customer who wants this product to this machine (0: nothing)."""
    if listing.units_in_machine <= 0:
        return 0.0
    return (
        price_factor(listing.price_cents, listing.reference_price_cents, listing.elasticity, rules)
        * variety
        * reputation
    )


def choice_shares(attractions: Sequence[float], rho: float) -> list[float]:
    """Each machine's share of the customers who want a product (all 0 when none attracts)."""
    weights = [a ** (1.0 / rho) if a > 0 else 0.0 for a in attractions]
    total = sum(weights)
    if total <= 0:
        return [0.0 for _ in attractions]
    return [w / total for w in weights]


def pooled_attraction(attractions: Sequence[float], rho: float) -> float:
    """The site's attraction for a product: the CES pool of its machines' attractions."""
    total = sum(a ** (1.0 / rho) for a in attractions if a > 0)
    return total**rho if total > 0 else 0.0


def market_day_sales(
    rng: np.random.Generator,
    machines: Sequence[MachineOffer],
    context: DayContext,
    rules: MarketRules = DEFAULT_MARKET_RULES,
) -> dict[str, list[Sale]]:
    """One day of customers at the site: per machine, one `Sale` per listing in its order."""
    demand_rules = rules.demand
    rho = rules.rho
    varieties = [
        choice_multiplier(distinct_products_on_offer(m.listings), demand_rules) for m in machines
    ]
    calendar = day_of_week_factor(context.weekday, demand_rules) * month_factor(
        context.month, demand_rules
    )
    by_sku: dict[str, list[tuple[int, Listing]]] = {}
    for index, machine in enumerate(machines):
        for listing in machine.listings:
            by_sku.setdefault(listing.sku, []).append((index, listing))

    wanted: dict[tuple[int, str], int] = {}  # demand drawn at each machine
    unmet_empty: dict[tuple[int, str], int] = {}  # would-be demand at empty listings
    spill: dict[str, int] = {}
    stock = {
        (i, offer.sku): offer.units_in_machine
        for i, m in enumerate(machines)
        for offer in m.listings
    }
    sigma = demand_rules.noise_sigma
    for sku in sorted(by_sku):
        offers = by_sku[sku]
        first = offers[0][1]
        noise = float(np.exp(sigma * rng.standard_normal() - sigma * sigma / 2))
        site = (
            first.base_daily_sales
            * calendar
            * weather_factor(context.weather, first.category, demand_rules)
            * noise
        )
        attractions = [
            attraction(listing, varieties[i], machines[i].reputation, demand_rules)
            for i, listing in offers
        ]
        shares = choice_shares(attractions, rho)
        expected_total = site * pooled_attraction(attractions, rho)
        # what each listing would attract if its slot were stocked (for empty ones)
        if_stocked = [
            attraction(
                listing.model_copy(update={"units_in_machine": 1}),
                varieties[i],
                machines[i].reputation,
                demand_rules,
            )
            for i, listing in offers
        ]
        for position, (i, listing) in enumerate(offers):
            wanted[(i, sku)] = int(rng.poisson(expected_total * shares[position]))
            if listing.units_in_machine <= 0:
                stocked = [*attractions[:position], if_stocked[position]]
                stocked += attractions[position + 1 :]
                alone = choice_shares(stocked, rho)[position]
                pooled = pooled_attraction(stocked, rho)
                unmet_empty[(i, sku)] = int(rng.poisson(site * pooled * alone))
        overflow = sum(max(0, wanted[(i, sku)] - stock[(i, sku)]) for i, _ in offers)
        spill[sku] = overflow

    sold = {key: min(units, stock[key]) for key, units in wanted.items()}
    unmet = {key: max(0, units - stock[key]) for key, units in wanted.items()}
    for sku in sorted(by_sku):
        if not spill[sku]:
            continue
        offers = by_sku[sku]
        room = [stock[(i, sku)] - sold[(i, sku)] for i, _ in offers]
        attractions = [
            attraction(listing, varieties[i], machines[i].reputation, demand_rules)
            if room[position] > 0
            else 0.0
            for position, (i, listing) in enumerate(offers)
        ]
        shares = choice_shares(attractions, rho)
        if sum(shares) <= 0:
            continue
        moved = rng.multinomial(spill[sku], shares).tolist()
        for position, (i, _) in enumerate(offers):
            sold[(i, sku)] += min(int(moved[position]), room[position])

    result: dict[str, list[Sale]] = {}
    for i, machine in enumerate(machines):
        sales = []
        for listing in machine.listings:
            key = (i, listing.sku)
            unmet_units = unmet.get(key, 0) + unmet_empty.get(key, 0)
            sales.append(paid_sale(rng, listing, sold[key], unmet_units, demand_rules))
        result[machine.machine] = sales
    return result
