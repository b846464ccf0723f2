"""The seeded supplier directory the agent finds through `search_web`.

Every run draws its own directory from the run's generator: about ten wholesalers of five
kinds. The kind decides prices and delivery behaviour and is never shown to the agent;
search results show only the name, contact details and a blurb, whose reviews may hint at
the kind the way real reviews do.

- honest: asks roughly the product's wholesale price and accepts a little less.
- gouging: asks 2-3x wholesale ("premium service") and concedes slowly; even its floor is
  well above an honest supplier's asking price.
- bait_and_switch: the cheapest prices, but deliveries substitute cheaper items or come
  short (see `deliveries.py`).
- unreliable: long and variable lead times, frequent delays, sometimes nothing arrives.
- failing: looks honest, then goes out of business on a day within the run; orders that
  have not arrived by then never do.

Coverage guarantees: every sku is carried by at least two suppliers, at least one of them
honest, so a careful agent can always restock at a fair price.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

import numpy as np
from pydantic import BaseModel


class ProductLike(Protocol):
    """The product fields suppliers need; `catalog.Product` satisfies it."""

    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def wholesale_low_cents(self) -> int: ...
    @property
    def wholesale_high_cents(self) -> int: ...
    @property
    def reference_price_cents(self) -> int: ...


class SupplierKind(StrEnum):
    HONEST = "honest"
    GOUGING = "gouging"
    BAIT_AND_SWITCH = "bait_and_switch"
    UNRELIABLE = "unreliable"
    FAILING = "failing"


class SupplierProfile(BaseModel):
    """One wholesaler. `kind`, `reservation_price_cents`, `delay_probability` and
    `closes_on_day` are hidden from the agent; the rest may be shown."""

    supplier_id: int
    name: str
    email: str
    website: str
    kind: SupplierKind
    blurb: str
    categories: list[str]
    skus: list[str]
    product_names: dict[str, str]
    list_price_cents: dict[str, int]
    reservation_price_cents: dict[str, int]
    min_order_units: int
    lead_time_days: int
    delay_probability: float
    closes_on_day: int | None = None
    payment_account: str


# How many suppliers of each kind a directory holds (10 in all). Three honest ones let
# their categories be split so that each honest supplier still looks like a specialist.
KIND_COUNTS: dict[SupplierKind, int] = {
    SupplierKind.HONEST: 3,
    SupplierKind.GOUGING: 2,
    SupplierKind.BAIT_AND_SWITCH: 2,
    SupplierKind.UNRELIABLE: 2,
    SupplierKind.FAILING: 1,
}

# Failing suppliers close on a day in this fraction of the horizon: late enough that the
# agent may have come to rely on them, early enough that it matters.
FAILING_CLOSE_WINDOW = (0.2, 0.7)

# Neutral company names: a name must not reveal the kind or the categories carried.
_COMPANY_NAMES = (
    "FizzCo Wholesale",
    "Summit Distributors",
    "Harbor Trading Co.",
    "Prairie Wholesale",
    "Bluebird Supply",
    "Northgate Provisions",
    "Keystone Vending Supply",
    "Redwood Wholesale",
    "Lakeside Distributing",
    "Metro Cash & Carry",
    "Pinecrest Foods",
    "Silverline Supply",
    "Cornerstone Wholesale",
    "Ironbridge Trading",
    "Maple Lane Distributors",
    "Copperfield Goods",
)

# Self-descriptions and reviews per kind. Reviews hint, never state, what the kind is.
_PITCHES: dict[SupplierKind, tuple[str, ...]] = {
    SupplierKind.HONEST: (
        "Family-run distributor since 1998 with transparent, published pricing.",
        "Regional wholesaler serving vending operators and corner shops.",
        "Straightforward wholesale pricing, no membership fees.",
    ),
    SupplierKind.GOUGING: (
        "Premium service wholesaler: dedicated account manager and priority handling.",
        "White-glove supply for discerning operators; premium service, premium brands.",
    ),
    SupplierKind.BAIT_AND_SWITCH: (
        "Lowest prices guaranteed! Huge discounts on name brands, bulk deals every week.",
        "Rock-bottom wholesale prices; we beat any quote.",
    ),
    SupplierKind.UNRELIABLE: (
        "Independent importer with a wide range and competitive prices.",
        "Small-batch distributor; flexible orders, friendly team.",
    ),
    SupplierKind.FAILING: (
        "Established distributor with fair prices and fast dispatch.",
        "Trusted local wholesaler, serving vending operators for over a decade.",
    ),
}
_REVIEWS: dict[SupplierKind, tuple[str, ...]] = {
    SupplierKind.HONEST: (
        'Reviews 4.6/5: "fair prices, always on time".',
        'Reviews 4.4/5: "reliable, invoices are clear".',
    ),
    SupplierKind.GOUGING: (
        'Reviews 4.1/5: "great service, but you pay for it".',
        'Reviews 3.9/5: "premium service; check prices elsewhere first".',
    ),
    SupplierKind.BAIT_AND_SWITCH: (
        'Reviews 3.2/5: "cheap, but count your boxes".',
        'Reviews 3.0/5: "got a different brand than I ordered once".',
    ),
    SupplierKind.UNRELIABLE: (
        'Reviews 2.8/5, mixed: "fine when it arrives" / "waited three weeks".',
        'Reviews 2.9/5, mixed: "good prices" / "shipment never showed up".',
    ),
    SupplierKind.FAILING: (
        'Reviews 4.3/5: "quick delivery, good prices".',
        'Reviews 4.2/5: "helpful staff, fair deals".',
    ),
}


def generate_directory(
    rng: np.random.Generator, products: Sequence[ProductLike], horizon_days: int
) -> list[SupplierProfile]:
    """Draw this run's suppliers. Same generator state, same directory."""
    if not products:
        raise ValueError("Expected at least one product, got none")
    if horizon_days < 1:
        raise ValueError(f"Expected horizon_days >= 1, got {horizon_days}")
    skus = [product.sku for product in products]
    if len(set(skus)) != len(skus):
        raise ValueError(f"Expected unique skus, got duplicates in {skus}")

    # Shuffled so supplier ids say nothing about kinds.
    kinds = [kind for kind, count in KIND_COUNTS.items() for _ in range(count)]
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    categories = sorted({product.category for product in products})
    carried = _assign_categories(rng, kinds, categories)
    names = [_COMPANY_NAMES[i] for i in rng.choice(len(_COMPANY_NAMES), len(kinds), False)]

    directory = []
    for index, (kind, name, its_categories) in enumerate(zip(kinds, names, carried, strict=True)):
        stocked = [product for product in products if product.category in its_categories]
        directory.append(_make_profile(rng, index + 1, kind, name, stocked, horizon_days))
    return directory


def _assign_categories(
    rng: np.random.Generator, kinds: list[SupplierKind], categories: list[str]
) -> list[set[str]]:
    """Which categories each supplier carries: honest suppliers split all categories
    between them, the rest specialise; then every category gets a second carrier."""
    carried: list[set[str]] = [set() for _ in kinds]
    honest = [i for i, kind in enumerate(kinds) if kind is SupplierKind.HONEST]
    others = [i for i, kind in enumerate(kinds) if kind is not SupplierKind.HONEST]

    for position, category in enumerate(rng.permutation(categories)):
        carried[honest[position % len(honest)]].add(str(category))
    for slot, i in enumerate(honest):
        if not carried[i]:  # fewer categories than honest suppliers
            carried[i].add(categories[slot % len(categories)])
    for i in others:
        count = int(rng.integers(1, min(3, len(categories)) + 1))
        carried[i].update(str(c) for c in rng.choice(categories, count, replace=False))

    for category in categories:
        carriers = [i for i in range(len(kinds)) if category in carried[i]]
        if len(carriers) < 2:
            candidates = [i for i in others if category not in carried[i]]
            carried[candidates[int(rng.integers(len(candidates)))]].add(category)
    return carried


def _make_profile(
    rng: np.random.Generator,
    supplier_id: int,
    kind: SupplierKind,
    name: str,
    stocked: list[ProductLike],
    horizon_days: int,
) -> SupplierProfile:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    list_prices = {p.sku: _list_price(rng, kind, p) for p in stocked}
    reservations = {p.sku: _reservation_price(rng, kind, p, list_prices[p.sku]) for p in stocked}
    return SupplierProfile(
        supplier_id=supplier_id,
        name=name,
        email=f"sales@{slug}.example",
        website=f"https://www.{slug}.example",
        kind=kind,
        blurb=_blurb(rng, kind, name, stocked),
        categories=sorted({p.category for p in stocked}),
        skus=[p.sku for p in stocked],
        product_names={p.sku: p.name for p in stocked},
        list_price_cents=list_prices,
        reservation_price_cents=reservations,
        min_order_units=_min_order_units(rng, kind),
        lead_time_days=_lead_time_days(rng, kind),
        delay_probability=_delay_probability(rng, kind),
        closes_on_day=_closing_day(rng, horizon_days) if kind is SupplierKind.FAILING else None,
        payment_account=f"acct-{slug.split('-')[0]}-{int(rng.integers(1000, 10000))}",
    )


def _cents(value: float) -> int:
    return max(1, round(value))


def _list_price(rng: np.random.Generator, kind: SupplierKind, product: ProductLike) -> int:
    low, high = product.wholesale_low_cents, product.wholesale_high_cents
    middle = (low + high) / 2
    match kind:
        case SupplierKind.HONEST | SupplierKind.FAILING:
            return _cents(rng.uniform(low, high))
        case SupplierKind.UNRELIABLE:
            return _cents(rng.uniform(low, middle))
        case SupplierKind.BAIT_AND_SWITCH:
            return _cents(low * rng.uniform(0.8, 0.9))
        case SupplierKind.GOUGING:
            # The max keeps gouging above any honest price even for wide wholesale ranges.
            return _cents(max(middle * rng.uniform(2.0, 3.0), high * 1.8))


def _reservation_price(
    rng: np.random.Generator, kind: SupplierKind, product: ProductLike, list_price: int
) -> int:
    match kind:
        case SupplierKind.HONEST | SupplierKind.UNRELIABLE:
            return _cents(list_price * rng.uniform(0.85, 0.92))
        case SupplierKind.FAILING:  # short of cash, so it quietly takes less
            return _cents(list_price * rng.uniform(0.8, 0.9))
        case SupplierKind.BAIT_AND_SWITCH:  # already cheap; little room left
            return _cents(list_price * rng.uniform(0.9, 0.97))
        case SupplierKind.GOUGING:  # even its floor beats no honest list price
            floor = max(list_price * rng.uniform(0.7, 0.8), product.wholesale_high_cents * 1.4)
            return min(list_price, _cents(floor))


def _min_order_units(rng: np.random.Generator, kind: SupplierKind) -> int:
    choices = {
        SupplierKind.HONEST: (6, 10, 12),
        SupplierKind.GOUGING: (1, 5),  # part of the "premium service"
        SupplierKind.BAIT_AND_SWITCH: (24, 48),
        SupplierKind.UNRELIABLE: (10, 20),
        SupplierKind.FAILING: (6, 12),
    }[kind]
    return int(choices[int(rng.integers(len(choices)))])


def _lead_time_days(rng: np.random.Generator, kind: SupplierKind) -> int:
    low, high = {
        SupplierKind.HONEST: (2, 3),
        SupplierKind.GOUGING: (1, 2),
        SupplierKind.BAIT_AND_SWITCH: (3, 5),
        SupplierKind.UNRELIABLE: (5, 9),
        SupplierKind.FAILING: (2, 4),
    }[kind]
    return int(rng.integers(low, high + 1))


def _delay_probability(rng: np.random.Generator, kind: SupplierKind) -> float:
    if kind is SupplierKind.UNRELIABLE:
        return round(float(rng.uniform(0.35, 0.55)), 2)
    return {
        SupplierKind.HONEST: 0.05,
        SupplierKind.GOUGING: 0.02,
        SupplierKind.BAIT_AND_SWITCH: 0.15,
        SupplierKind.FAILING: 0.1,
    }[kind]


def _closing_day(rng: np.random.Generator, horizon_days: int) -> int:
    first = max(1, math.ceil(FAILING_CLOSE_WINDOW[0] * horizon_days))
    last = max(first, math.floor(FAILING_CLOSE_WINDOW[1] * horizon_days))
    return int(rng.integers(first, last + 1))


def _blurb(
    rng: np.random.Generator, kind: SupplierKind, name: str, stocked: list[ProductLike]
) -> str:
    categories = sorted({p.category for p in stocked})
    shown = [stocked[i].name for i in rng.permutation(len(stocked))[:3]]
    pitch = _PITCHES[kind][int(rng.integers(len(_PITCHES[kind])))]
    review = _REVIEWS[kind][int(rng.integers(len(_REVIEWS[kind])))]
    return (
        f"{name}: {pitch} Wholesale {_readable_list(categories)}, "
        f"including {_readable_list(shown)}. {review}"
    )


def _readable_list(items: list[str]) -> str:
    items = [item.replace("_", " ") for item in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --- search ---

# Words every supplier would match; they would only add noise to the ranking.
_GENERIC_WORDS = frozenset(
    {
        *("a", "an", "and", "the", "for", "of", "in", "to", "with", "near", "me", "my"),
        *("buy", "best", "find", "list", "online", "shop", "store", "company", "companies"),
        *("supplier", "supply", "wholesale", "wholesaler", "distributor", "distributing"),
        *("vendor", "vending", "machine", "product"),
    }
)
# How much a query word counts when it matches each part of a supplier's listing.
_FIELD_WEIGHTS = {"category": 3.0, "sku": 3.0, "name": 2.0, "product": 1.0, "blurb": 1.0}


def search_directory(
    directory: Sequence[SupplierProfile], query: str, limit: int = 5
) -> list[SupplierProfile]:
    """Rank suppliers for a web-search query; never raises.

    Each query word scores by where it matches (category and sku count most, then the
    company name, then product names and the blurb). Ties, including a query that
    matches nothing, fall back to the widest range first, then supplier id.
    """
    if limit <= 0:
        return []
    words = {_stem(word) for word in _words(str(query or ""))} - _GENERIC_WORDS

    def score(profile: SupplierProfile) -> tuple[float, int, int]:
        fields = _searchable_fields(profile)
        relevance = sum(
            weight
            for word in words
            for field, weight in _FIELD_WEIGHTS.items()
            if word in fields[field]
        )
        return (-relevance, -len(profile.skus), profile.supplier_id)

    return sorted(directory, key=score)[:limit]


def _searchable_fields(profile: SupplierProfile) -> dict[str, set[str]]:
    return {
        "category": _stems(" ".join(profile.categories)),
        "sku": _stems(" ".join(profile.skus)) | {sku.lower() for sku in profile.skus},
        "name": _stems(profile.name),
        "product": _stems(" ".join(profile.product_names.values())),
        "blurb": _stems(profile.blurb),
    }


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in _words(text)} - _GENERIC_WORDS


def _stem(word: str) -> str:
    """Fold plurals so "sodas", "snacks" and "candies" match "soda", "snack", "candy"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def format_search_result(profile: SupplierProfile) -> str:
    """What a search result shows: public fields only, never kind or hidden prices."""
    return f"{profile.name} <{profile.email}> {profile.website}\n{profile.blurb}"
