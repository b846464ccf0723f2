"""What the baseline sells: which products, in which slots, at which prices.

Pure arithmetic over the operator's market knowledge (`Candidate`: size, typical retail
price, price sensitivity and typical daily sales, from the public catalog) and the
cheapest fair quote for each product. Nothing here talks to the env.

The model the baseline plans with is deliberately simple:

    units/day(price) = typical sales x variety x (price / reference) ** -elasticity
    sold/day         = min(units/day, slots x capacity / RESTOCK_SLACK)
    value            = (price - unit cost) x sold/day

`variety` is the operator's rule of thumb that shoppers like some choice but not too
much (it peaks at VARIETY_PEAK products). Prices are searched on a grid from the
reference price up to 25% above it: a slot that sells out before the next restock is
better priced a little higher, and prices far above reference draw complaints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Shoppers buy more when there is some choice; past about 8 products choice hurts.
VARIETY_PEAK = 8
VARIETY_GAIN = 0.04
VARIETY_LOSS = 0.08
# Price grid, as multiples of the reference price.
PRICE_MULTIPLES = (1.0, 1.05, 1.1, 1.15, 1.2, 1.25)
# A slot is refilled about daily, but demand is noisy: plan on selling a slot's capacity
# over this many days.
RESTOCK_SLACK = 1.25

Slot = tuple[int, int]  # (row, col), 1-based as the tools show them


@dataclass(frozen=True)
class Candidate:
    """A product the baseline could sell, at the best fair unit cost it was quoted."""

    sku: str
    size: str
    unit_cost_cents: int
    reference_cents: int
    elasticity: float
    typical_daily_sales: float


@dataclass(frozen=True)
class SlotSpec:
    row: int
    col: int
    size: str
    capacity: int

    @property
    def key(self) -> Slot:
        return (self.row, self.col)


@dataclass
class MachinePlan:
    """Slot -> sku, the price of each sku (cents) and its expected sales per day."""

    slots: dict[Slot, str] = field(default_factory=dict)
    prices: dict[str, int] = field(default_factory=dict)
    daily_sales: dict[str, float] = field(default_factory=dict)
    value_cents_per_day: float = 0.0

    @property
    def skus(self) -> list[str]:
        return list(self.prices)


def variety_factor(products: int) -> float:
    if products <= VARIETY_PEAK:
        return 1.0 + VARIETY_GAIN * (products - 1)
    peak = 1.0 + VARIETY_GAIN * (VARIETY_PEAK - 1)
    return max(0.5, peak - VARIETY_LOSS * (products - VARIETY_PEAK))


def round_to_nickel(cents: float) -> int:
    return int(5 * round(cents / 5))


def best_price(
    candidate: Candidate, capacity_per_day: float, variety: float
) -> tuple[int, float, float]:
    """(price cents, units sold per day, margin cents per day) of the best grid price."""
    best = (candidate.reference_cents, 0.0, float("-inf"))
    for multiple in PRICE_MULTIPLES:
        price = round_to_nickel(candidate.reference_cents * multiple)
        demand = (
            candidate.typical_daily_sales
            * variety
            * (price / candidate.reference_cents) ** -candidate.elasticity
        )
        sold = min(demand, capacity_per_day)
        value = (price - candidate.unit_cost_cents) * sold
        if value > best[2] + 1e-9:
            best = (price, sold, value)
    return best


def plan_machine(
    candidates: Sequence[Candidate],
    slots: Sequence[SlotSpec],
    keep: Mapping[Slot, str] | None = None,
) -> MachinePlan:
    """The most valuable assortment for these slots.

    Tries every count of small and large products (best first by stand-alone value),
    gives each chosen product one slot and the spare slots of each size to whichever
    product gains most from a second (third...) slot. `keep` maps slots to the sku they
    hold now; a planned sku stays in the slots it already occupies.
    """
    profitable = [c for c in candidates if c.unit_cost_cents < c.reference_cents]
    sizes = sorted({slot.size for slot in slots})
    capacity = {size: max(s.capacity for s in slots if s.size == size) for size in sizes}
    ranked = {
        size: sorted(
            (c for c in profitable if c.size == size),
            key=lambda c: (-best_price(c, capacity[size] / RESTOCK_SLACK, 1.0)[2], c.sku),
        )
        for size in sizes
    }
    slot_count = {size: sum(1 for s in slots if s.size == size) for size in sizes}

    best: tuple[float, dict[str, int]] = (0.0, {})
    for counts in _count_choices(sizes, slot_count, ranked):
        chosen = [c for size in sizes for c in ranked[size][: counts[size]]]
        if not chosen:
            continue
        variety = variety_factor(len(chosen))
        allocation = _allocate(chosen, slot_count, capacity, variety)
        value = sum(
            best_price(c, allocation[c.sku] * capacity[c.size] / RESTOCK_SLACK, variety)[2]
            for c in chosen
        )
        if value > best[0] + 1e-9:
            best = (value, allocation)

    value, allocation = best
    by_sku = {c.sku: c for c in profitable}
    plan = MachinePlan(value_cents_per_day=value)
    variety = variety_factor(len(allocation))
    for sku, count in allocation.items():
        candidate = by_sku[sku]
        price, sold, _ = best_price(
            candidate, count * capacity[candidate.size] / RESTOCK_SLACK, variety
        )
        plan.prices[sku] = price
        plan.daily_sales[sku] = sold
    plan.slots = _place(allocation, by_sku, slots, keep or {})
    return plan


def _count_choices(
    sizes: list[str], slot_count: dict[str, int], ranked: dict[str, list[Candidate]]
) -> list[dict[str, int]]:
    choices: list[dict[str, int]] = [{}]
    for size in sizes:
        most = min(slot_count[size], len(ranked[size]))
        choices = [{**choice, size: n} for choice in choices for n in range(most + 1)]
    return choices


def _allocate(
    chosen: list[Candidate],
    slot_count: dict[str, int],
    capacity: dict[str, int],
    variety: float,
) -> dict[str, int]:
    allocation = {c.sku: 1 for c in chosen}

    def gain(c: Candidate) -> float:
        per_slot = capacity[c.size] / RESTOCK_SLACK
        now = best_price(c, allocation[c.sku] * per_slot, variety)[2]
        more = best_price(c, (allocation[c.sku] + 1) * per_slot, variety)[2]
        return more - now

    for size, total in slot_count.items():
        of_size = [c for c in chosen if c.size == size]
        for _ in range(total - len(of_size)):
            if not of_size:
                break
            pick = max(of_size, key=lambda c: (gain(c), c.typical_daily_sales, c.sku))
            allocation[pick.sku] += 1
    return allocation


def _place(
    allocation: dict[str, int],
    by_sku: dict[str, Candidate],
    slots: Sequence[SlotSpec],
    keep: Mapping[Slot, str],
) -> dict[Slot, str]:
    """Concrete slots: planned skus keep the slots they hold, the rest fill in order."""
    placed: dict[Slot, str] = {}
    wanted = dict(allocation)
    for slot in slots:
        sku = keep.get(slot.key)
        if sku is not None and wanted.get(sku, 0) > 0 and by_sku[sku].size == slot.size:
            placed[slot.key] = sku
            wanted[sku] -= 1
    for slot in slots:
        if slot.key in placed:
            continue
        sku = next(
            (s for s, n in wanted.items() if n > 0 and by_sku[s].size == slot.size),
            None,
        )
        if sku is not None:
            placed[slot.key] = sku
            wanted[sku] -= 1
    return dict(sorted(placed.items()))
