"""The product catalog: real-world-like vending products and their per-episode variation.

Every product carries what the demand model and the suppliers need: a size (which machine
rows it fits), a wholesale cost range, a typical vending retail price, a price elasticity
and its base daily sales at that price in a typical office location. Money is integer cents.

The numbers are plausible US vending figures (2024): a 12 oz can of cola costs an operator
35-60 cents and sells for $1.75. They are not fitted to any data set; the published
Vending-Bench catalog is not public.
"""

# The catalog table below reads best as one product per line, wider than the line limit.

from __future__ import annotations

import difflib
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, Field, model_validator


class Size(StrEnum):
    """Which machine rows a product fits: 2 rows take small items, 2 rows large."""

    SMALL = "small"
    LARGE = "large"


DRINK_CATEGORIES = frozenset({"soda", "water", "juice", "tea", "sports", "energy", "coffee"})
FOOD_CATEGORIES = frozenset(
    {
        "chips",
        "candy",
        "chocolate",
        "cookies",
        "nuts",
        "bars",
        "gum",
        "mints",
        "crackers",
        "pastry",
        "sandwich",
        "jerky",
    }
)
CATEGORIES = DRINK_CATEGORIES | FOOD_CATEGORIES

# A lowercase slug: words of [a-z0-9] joined by single hyphens, e.g. "cola-can-12oz".
SKU_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

# Per-episode variation: base daily sales and elasticity are scaled by a factor drawn
# uniformly from [1 - x, 1 + x], so no two episodes face exactly the same customers.
EPISODE_VARIATION = 0.20


class Product(BaseModel, frozen=True):
    """One catalog product. Prices are integer cents; sales are units per day."""

    sku: str = Field(pattern=SKU_PATTERN)
    name: str = Field(min_length=1)
    category: str
    size: Size
    wholesale_low_cents: int = Field(gt=0)
    wholesale_high_cents: int = Field(gt=0)
    reference_price_cents: int = Field(gt=0)
    # Magnitude of the constant price elasticity; catalog values lie in 0.8-3.0 and
    # per-episode variation may move them by up to EPISODE_VARIATION.
    elasticity: float = Field(gt=0)
    # Units per day at the reference price in a typical location, before calendar,
    # weather, choice and reputation effects.
    base_daily_sales: float = Field(gt=0)

    @model_validator(mode="after")
    def _check_consistency(self) -> Product:
        if self.category not in CATEGORIES:
            raise ValueError(
                f"Expected category in {sorted(CATEGORIES)}, got {self.category!r} "
                f"for product {self.sku!r}"
            )
        # An operator must be able to buy below the retail price, or no strategy can profit.
        if not self.wholesale_low_cents <= self.wholesale_high_cents < self.reference_price_cents:
            raise ValueError(
                "Expected wholesale_low_cents <= wholesale_high_cents < reference_price_cents, "
                f"got {self.wholesale_low_cents} <= {self.wholesale_high_cents} < "
                f"{self.reference_price_cents} for product {self.sku!r}"
            )
        return self


_S, _L = Size.SMALL, Size.LARGE

# fmt: off
# sku, name, category, size, wholesale low, wholesale high, reference price (cents),
# elasticity, base daily sales (units/day)
_CATALOG_ROWS: tuple[tuple[str, str, str, Size, int, int, int, float, float], ...] = (
    # Drinks: all in the large rows.
    ("cola-can-12oz", "Cola, 12 oz can", "soda", _L, 35, 60, 175, 1.6, 4.5),
    ("diet-cola-can-12oz", "Diet Cola, 12 oz can", "soda", _L, 35, 60, 175, 1.6, 3.0),
    ("lemon-lime-soda-can-12oz", "Lemon-Lime Soda, 12 oz can", "soda", _L, 35, 58, 175, 1.7, 2.2),
    ("root-beer-can-12oz", "Root Beer, 12 oz can", "soda", _L, 35, 58, 175, 1.8, 1.2),
    ("orange-soda-can-12oz", "Orange Soda, 12 oz can", "soda", _L, 34, 55, 175, 1.9, 1.0),
    ("cola-bottle-20oz", "Cola, 20 oz bottle", "soda", _L, 85, 125, 250, 1.5, 3.2),
    ("spring-water-bottle-16oz", "Spring Water, 16.9 oz bottle", "water", _L, 18, 35, 150, 2.0, 4.0),
    ("spring-water-bottle-1l", "Spring Water, 1 L bottle", "water", _L, 45, 80, 250, 1.7, 1.3),
    ("sparkling-water-can-12oz", "Lime Sparkling Water, 12 oz can", "water", _L, 30, 50, 175, 1.9, 1.8),
    ("orange-juice-bottle-10oz", "Orange Juice, 10 oz bottle", "juice", _L, 90, 140, 275, 1.4, 1.4),
    ("apple-juice-bottle-10oz", "Apple Juice, 10 oz bottle", "juice", _L, 80, 130, 250, 1.5, 1.0),
    ("cranberry-juice-bottle-15oz", "Cranberry Juice, 15.2 oz bottle", "juice", _L, 95, 150, 300, 1.5, 0.7),
    ("sweet-tea-bottle-18oz", "Sweet Tea, 18.5 oz bottle", "tea", _L, 70, 110, 225, 1.6, 1.5),
    ("green-tea-bottle-16oz", "Unsweetened Green Tea, 16.9 oz bottle", "tea", _L, 75, 115, 250, 1.7, 0.9),
    ("sports-drink-bottle-20oz", "Sports Drink, 20 oz bottle", "sports", _L, 70, 110, 250, 1.5, 2.2),
    ("energy-drink-can-16oz", "Energy Drink, 16 oz can", "energy", _L, 120, 190, 350, 1.2, 2.5),
    ("sugar-free-energy-can-8oz", "Sugar-Free Energy Drink, 8.4 oz can", "energy", _L, 90, 150, 300, 1.3, 1.4),
    ("cold-brew-coffee-can-11oz", "Cold Brew Coffee, 11 oz can", "coffee", _L, 110, 170, 350, 1.3, 1.6),
    ("iced-latte-bottle-9oz", "Vanilla Iced Latte, 9.5 oz bottle", "coffee", _L, 120, 180, 350, 1.4, 1.2),
    # Snacks: mostly small.
    ("potato-chips-classic-1oz", "Classic Potato Chips, 1 oz bag", "chips", _S, 30, 50, 150, 1.7, 3.5),
    ("potato-chips-bbq-1oz", "BBQ Potato Chips, 1 oz bag", "chips", _S, 30, 50, 150, 1.8, 2.0),
    ("tortilla-chips-nacho-1oz", "Nacho Cheese Tortilla Chips, 1 oz bag", "chips", _S, 32, 52, 150, 1.7, 2.8),
    ("cheese-puffs-1oz", "Cheese Puffs, 1 oz bag", "chips", _S, 30, 48, 150, 1.8, 2.0),
    ("pretzels-1-5oz", "Mini Pretzels, 1.5 oz bag", "chips", _S, 28, 48, 150, 1.9, 1.4),
    ("milk-chocolate-bar-1-5oz", "Milk Chocolate Bar, 1.55 oz", "chocolate", _S, 55, 85, 175, 1.5, 3.0),
    ("peanut-butter-cups-1-5oz", "Peanut Butter Cups, 1.5 oz", "chocolate", _S, 55, 85, 175, 1.4, 2.8),
    ("caramel-nougat-bar-1-9oz", "Caramel Nougat Bar, 1.86 oz", "chocolate", _S, 55, 85, 175, 1.5, 2.5),
    ("chocolate-wafer-bar-1-5oz", "Chocolate Wafer Bar, 1.5 oz", "chocolate", _S, 55, 80, 175, 1.6, 1.8),
    ("fruit-chews-2oz", "Fruit Chews, 2.17 oz", "candy", _S, 45, 70, 150, 1.8, 1.6),
    ("sour-gummies-2oz", "Sour Gummy Worms, 2 oz", "candy", _S, 50, 75, 175, 1.9, 1.3),
    ("chocolate-chip-cookies-2oz", "Chocolate Chip Cookies, 2 oz", "cookies", _S, 40, 70, 175, 1.7, 1.5),
    ("sandwich-cookies-2-4oz", "Chocolate Sandwich Cookies, 2.4 oz", "cookies", _S, 40, 65, 150, 1.7, 1.4),
    ("salted-peanuts-1-75oz", "Salted Peanuts, 1.75 oz", "nuts", _S, 35, 60, 150, 1.8, 1.1),
    ("trail-mix-2oz", "Trail Mix, 2 oz", "nuts", _S, 55, 90, 200, 1.6, 0.9),
    ("granola-bar-oats-honey", "Oats & Honey Granola Bar, 1.5 oz", "bars", _S, 35, 60, 150, 1.6, 1.5),
    ("protein-bar-chocolate-2oz", "Chocolate Protein Bar, 2.1 oz", "bars", _S, 110, 170, 325, 1.2, 1.3),
    ("spearmint-gum-15ct", "Spearmint Gum, 15 pieces", "gum", _S, 60, 95, 175, 1.0, 0.8),
    ("peppermint-mints-tin", "Peppermint Mints, 1.76 oz tin", "mints", _S, 70, 110, 200, 1.1, 0.6),
    ("cheese-crackers-1-4oz", "Cheese Sandwich Crackers, 1.38 oz", "crackers", _S, 25, 45, 125, 1.8, 1.8),
    ("peanut-butter-crackers-1-4oz", "Peanut Butter Crackers, 1.38 oz", "crackers", _S, 25, 45, 125, 1.8, 1.2),
    ("beef-jerky-2-85oz", "Original Beef Jerky, 2.85 oz", "jerky", _S, 250, 360, 575, 1.1, 0.6),
    # Large snacks and fresh food: they take a large slot.
    ("potato-chips-large-2-5oz", "Classic Potato Chips, 2.5 oz bag", "chips", _L, 70, 110, 225, 1.6, 1.2),
    ("blueberry-muffin-4oz", "Blueberry Muffin, 4 oz", "pastry", _L, 70, 110, 250, 1.6, 1.1),
    ("honey-bun-4-75oz", "Glazed Honey Bun, 4.75 oz", "pastry", _L, 45, 75, 200, 1.7, 1.3),
    ("turkey-club-sandwich", "Turkey Club Sandwich", "sandwich", _L, 200, 300, 550, 1.3, 0.9),
    ("ham-cheese-sandwich", "Ham & Cheese Sandwich", "sandwich", _L, 190, 280, 525, 1.3, 0.7),
)
# fmt: on

# The order of the columns in _CATALOG_ROWS.
_ROW_FIELDS = (
    "sku",
    "name",
    "category",
    "size",
    "wholesale_low_cents",
    "wholesale_high_cents",
    "reference_price_cents",
    "elasticity",
    "base_daily_sales",
)

CATALOG: tuple[Product, ...] = tuple(
    Product(**dict(zip(_ROW_FIELDS, row, strict=True))) for row in _CATALOG_ROWS
)

_PRODUCTS_BY_SKU: dict[str, Product] = {product.sku: product for product in CATALOG}
# A duplicate sku would silently shadow a product in every lookup; fail at import instead.
if len(_PRODUCTS_BY_SKU) != len(CATALOG):
    raise RuntimeError("Duplicate sku in CATALOG")


def product_by_sku(sku: str) -> Product:
    """Return the catalog product with this sku; KeyError names close matches and all skus."""
    try:
        return _PRODUCTS_BY_SKU[sku]
    except KeyError:
        close = difflib.get_close_matches(sku, _PRODUCTS_BY_SKU, n=3)
        hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
        raise KeyError(
            f"Unknown product sku {sku!r}{hint}; expected one of {sorted(_PRODUCTS_BY_SKU)}"
        ) from None


def draw_episode_products(rng: np.random.Generator, count: int | None = None) -> list[Product]:
    """Return this episode's products: the catalog with customers' tastes perturbed.

    `count=None` keeps every product; otherwise `count` distinct products are drawn at
    random. Either way the result is in catalog order. Each product's base_daily_sales and
    elasticity are scaled by independent factors in [1 - EPISODE_VARIATION,
    1 + EPISODE_VARIATION]. The result depends only on the generator's state.
    """
    if count is None:
        indices = np.arange(len(CATALOG))
    elif 0 <= count <= len(CATALOG):
        indices = np.sort(rng.choice(len(CATALOG), size=count, replace=False))
    else:
        raise ValueError(f"Expected count in 0..{len(CATALOG)} or None, got {count}")

    low, high = 1.0 - EPISODE_VARIATION, 1.0 + EPISODE_VARIATION
    sales_scale = rng.uniform(low, high, size=len(indices))
    elasticity_scale = rng.uniform(low, high, size=len(indices))
    return [
        CATALOG[index].model_copy(
            update={
                "base_daily_sales": CATALOG[index].base_daily_sales * float(sales_scale[i]),
                "elasticity": CATALOG[index].elasticity * float(elasticity_scale[i]),
            }
        )
        for i, index in enumerate(indices)
    ]
