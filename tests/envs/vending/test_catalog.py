from __future__ import annotations

import re

import numpy as np
import pytest
from pydantic import ValidationError

from tycoon.envs.vending.catalog import (
    CATALOG,
    CATEGORIES,
    DRINK_CATEGORIES,
    EPISODE_VARIATION,
    Product,
    Size,
    draw_episode_products,
    product_by_sku,
)


def test_catalog_has_at_least_36_unique_skus() -> None:
    skus = [product.sku for product in CATALOG]
    assert len(skus) >= 36
    assert len(set(skus)) == len(skus)


@pytest.mark.parametrize("product", CATALOG, ids=lambda product: product.sku)
def test_product_numbers_are_plausible(product: Product) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", product.sku)
    assert product.category in CATEGORIES
    assert 0 < product.wholesale_low_cents <= product.wholesale_high_cents
    assert product.wholesale_high_cents < product.reference_price_cents
    assert 0.8 <= product.elasticity <= 3.0
    assert 0.5 <= product.base_daily_sales <= 6.0
    # Vending prices end in 0 or 5 cents so a coin mechanism can take them.
    assert product.reference_price_cents % 5 == 0


def test_drinks_are_large_and_most_snacks_small() -> None:
    drinks = [product for product in CATALOG if product.category in DRINK_CATEGORIES]
    snacks = [product for product in CATALOG if product.category not in DRINK_CATEGORIES]
    assert drinks and all(product.size is Size.LARGE for product in drinks)
    small_snacks = [product for product in snacks if product.size is Size.SMALL]
    assert len(small_snacks) > len(snacks) / 2
    # Both machine row sizes must have something to stock.
    assert any(product.size is Size.LARGE for product in snacks)


def test_a_12oz_cola_is_priced_like_the_real_thing() -> None:
    cola = product_by_sku("cola-can-12oz")
    assert (cola.wholesale_low_cents, cola.wholesale_high_cents) == (35, 60)
    assert cola.reference_price_cents == 175


def test_product_by_sku_returns_the_catalog_entry() -> None:
    for product in CATALOG:
        assert product_by_sku(product.sku) is product


def test_product_by_sku_names_close_matches_for_unknown_sku() -> None:
    with pytest.raises(KeyError, match=r"Unknown product sku 'cola-can'.*'cola-can-12oz'"):
        product_by_sku("cola-can")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wholesale_low_cents", 70),  # above wholesale high
        ("wholesale_high_cents", 175),  # equal to the reference price
        ("category", "furniture"),
        ("sku", "Cola Can"),
        ("elasticity", 0.0),
    ],
)
def test_product_rejects_inconsistent_numbers(field: str, value: object) -> None:
    fields = product_by_sku("cola-can-12oz").model_dump() | {field: value}
    with pytest.raises(ValidationError):
        Product(**fields)


def test_draw_episode_products_is_deterministic_for_a_seed() -> None:
    first = draw_episode_products(np.random.default_rng(7))
    second = draw_episode_products(np.random.default_rng(7))
    assert first == second


def test_draw_episode_products_differs_between_seeds() -> None:
    first = draw_episode_products(np.random.default_rng(7))
    second = draw_episode_products(np.random.default_rng(8))
    assert [p.base_daily_sales for p in first] != [p.base_daily_sales for p in second]
    assert [p.elasticity for p in first] != [p.elasticity for p in second]


@pytest.mark.parametrize("seed", range(5))
def test_draw_episode_products_stays_within_variation(seed: int) -> None:
    drawn = draw_episode_products(np.random.default_rng(seed))
    assert [product.sku for product in drawn] == [product.sku for product in CATALOG]
    low, high = 1 - EPISODE_VARIATION, 1 + EPISODE_VARIATION
    for product, original in zip(drawn, CATALOG, strict=True):
        assert low <= product.base_daily_sales / original.base_daily_sales <= high
        assert low <= product.elasticity / original.elasticity <= high
        # Only customers' tastes vary; prices and costs stay the catalog's.
        unchanged = {"base_daily_sales", "elasticity"}
        assert product.model_dump(exclude=unchanged) == original.model_dump(exclude=unchanged)
    assert any(
        p.base_daily_sales != o.base_daily_sales for p, o in zip(drawn, CATALOG, strict=True)
    )


def test_draw_episode_products_count_keeps_catalog_order() -> None:
    drawn = draw_episode_products(np.random.default_rng(3), count=10)
    catalog_order = [product.sku for product in CATALOG]
    positions = [catalog_order.index(product.sku) for product in drawn]
    assert len(drawn) == 10
    assert positions == sorted(set(positions))
    assert draw_episode_products(np.random.default_rng(3), count=0) == []


@pytest.mark.parametrize("count", [-1, len(CATALOG) + 1])
def test_draw_episode_products_rejects_impossible_count(count: int) -> None:
    with pytest.raises(ValueError, match="Expected count"):
        draw_episode_products(np.random.default_rng(0), count=count)
