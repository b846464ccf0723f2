from __future__ import annotations

import itertools

import numpy as np
import pytest
from pydantic import BaseModel

from tycoon.envs.vending.suppliers import (
    KIND_COUNTS,
    SupplierKind,
    SupplierProfile,
    format_search_result,
    generate_directory,
    search_directory,
)


class Product(BaseModel, frozen=True):
    """Stands in for catalog.Product: the fields `ProductLike` asks for."""

    sku: str
    name: str
    category: str
    wholesale_low_cents: int
    wholesale_high_cents: int
    reference_price_cents: int


def product(sku: str, name: str, category: str, low: int, high: int) -> Product:
    return Product(
        sku=sku,
        name=name,
        category=category,
        wholesale_low_cents=low,
        wholesale_high_cents=high,
        reference_price_cents=high * 3,
    )


SMALL_CATALOG = (
    product("SODA-COLA", "Cola 12oz can", "soda", 40, 60),
    product("SODA-LEMON", "Lemon-lime soda can", "soda", 35, 55),
    product("CHIPS-SALT", "Salted potato chips", "snacks", 50, 80),
    product("CANDY-BAR", "Milk chocolate bar", "candy", 45, 70),
    product("WATER-500", "Spring water 500ml", "water", 20, 35),
)
ONE_PRODUCT = (product("SODA-COLA", "Cola 12oz can", "soda", 40, 60),)
WIDE_CATALOG = tuple(
    product(f"{category.upper()}-{i}", f"{category} item {i}", category, 10 + 7 * i, 30 + 11 * i)
    for category in ("soda", "juice", "water", "chips", "candy", "gum", "energy_drink", "cookies")
    for i in range(5)
)
CATALOGS = {"small": SMALL_CATALOG, "one": ONE_PRODUCT, "wide": WIDE_CATALOG}
SEEDS = range(25)


def directory(seed: int = 0, catalog=SMALL_CATALOG, horizon_days: int = 365):
    return generate_directory(np.random.default_rng(seed), catalog, horizon_days)


def test_same_seed_gives_the_same_directory() -> None:
    first = [profile.model_dump() for profile in directory(7)]
    second = [profile.model_dump() for profile in directory(7)]
    assert first == second


def test_different_seeds_give_different_directories() -> None:
    assert [p.model_dump() for p in directory(1)] != [p.model_dump() for p in directory(2)]


@pytest.mark.parametrize(("catalog_name", "seed"), list(itertools.product(CATALOGS, SEEDS)))
def test_directory_covers_every_kind_and_every_sku(catalog_name: str, seed: int) -> None:
    catalog = CATALOGS[catalog_name]
    suppliers = directory(seed, catalog)

    assert len(suppliers) >= 10
    assert {profile.kind for profile in suppliers} == set(SupplierKind)
    assert [profile.supplier_id for profile in suppliers] == list(range(1, len(suppliers) + 1))
    for field in ("name", "email", "website", "payment_account"):
        assert len({getattr(profile, field) for profile in suppliers}) == len(suppliers)
    for item in catalog:
        carriers = [profile for profile in suppliers if item.sku in profile.skus]
        assert len(carriers) >= 2, item.sku
        assert any(profile.kind is SupplierKind.HONEST for profile in carriers), item.sku


@pytest.mark.parametrize("seed", SEEDS)
def test_every_profile_is_consistent(seed: int) -> None:
    by_sku = {item.sku: item for item in WIDE_CATALOG}
    for profile in directory(seed, WIDE_CATALOG):
        assert profile.skus, profile.name
        assert set(profile.list_price_cents) == set(profile.skus)
        assert set(profile.reservation_price_cents) == set(profile.skus)
        assert set(profile.product_names) == set(profile.skus)
        assert profile.categories == sorted({by_sku[sku].category for sku in profile.skus})
        for sku in profile.skus:
            assert 0 < profile.reservation_price_cents[sku] <= profile.list_price_cents[sku]
        assert profile.min_order_units >= 1
        assert profile.lead_time_days >= 1
        assert 0.0 <= profile.delay_probability <= 1.0
        assert profile.email.startswith("sales@") and profile.email.endswith(".example")
        assert profile.website.startswith("https://www.")
        assert profile.payment_account.startswith("acct-")


def prices_by_kind(suppliers: list[SupplierProfile], kind: SupplierKind, sku: str):
    carriers = [p for p in suppliers if p.kind is kind and sku in p.skus]
    return [p.list_price_cents[sku] for p in carriers], [
        p.reservation_price_cents[sku] for p in carriers
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_prices_follow_the_kind(seed: int) -> None:
    suppliers = directory(seed, WIDE_CATALOG)
    for item in WIDE_CATALOG:
        honest_list, _ = prices_by_kind(suppliers, SupplierKind.HONEST, item.sku)
        gouging_list, gouging_floor = prices_by_kind(suppliers, SupplierKind.GOUGING, item.sku)
        bait_list, _ = prices_by_kind(suppliers, SupplierKind.BAIT_AND_SWITCH, item.sku)

        low, high = item.wholesale_low_cents, item.wholesale_high_cents
        assert all(low <= price <= high for price in honest_list)
        # Even a gouging supplier's floor beats no honest asking price.
        assert all(floor > max(honest_list) for floor in gouging_floor)
        assert all(price >= 2 * (low + high) / 2 for price in gouging_list)
        assert all(price < min(honest_list) for price in bait_list)


@pytest.mark.parametrize(("seed", "horizon_days"), list(itertools.product(SEEDS, (1, 2, 10, 365))))
def test_only_failing_suppliers_close_within_the_horizon(seed: int, horizon_days: int) -> None:
    for profile in directory(seed, SMALL_CATALOG, horizon_days):
        if profile.kind is SupplierKind.FAILING:
            assert profile.closes_on_day is not None
            assert 1 <= profile.closes_on_day <= max(1, horizon_days)
            if horizon_days >= 10:
                assert 0.2 * horizon_days <= profile.closes_on_day <= 0.7 * horizon_days
        else:
            assert profile.closes_on_day is None


@pytest.mark.parametrize("seed", SEEDS)
def test_public_text_does_not_name_the_kind(seed: int) -> None:
    for profile in directory(seed):
        shown = format_search_result(profile).lower()
        for giveaway in ("honest", "goug", "bait", "switch", "unreliable", "failing", "scam"):
            assert giveaway not in shown, (profile.kind, shown)
        assert "acct-" not in shown  # the payment account comes with the invoice


@pytest.mark.parametrize(
    ("catalog", "horizon_days", "message"),
    [
        ((), 365, "at least one product"),
        (SMALL_CATALOG, 0, "horizon_days >= 1"),
        ((*SMALL_CATALOG, SMALL_CATALOG[0]), 365, "unique skus"),
    ],
)
def test_invalid_arguments_are_named(catalog, horizon_days: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_directory(np.random.default_rng(0), catalog, horizon_days)


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("wholesale soda supplier", "soda"),
        ("SODAS", "soda"),
        ("bottled water distributor", "water"),
        ("candy bars", "candy"),
        ("potato chips", "snacks"),
    ],
)
@pytest.mark.parametrize("seed", range(10))
def test_search_ranks_matching_suppliers_first(query: str, category: str, seed: int) -> None:
    suppliers = directory(seed)
    carriers = sum(category in profile.categories for profile in suppliers)
    results = search_directory(suppliers, query, limit=len(suppliers))
    assert len(results) == len(suppliers)
    assert all(category in profile.categories for profile in results[:carriers])


def test_search_finds_a_sku() -> None:
    suppliers = directory(3)
    results = search_directory(suppliers, "CANDY-BAR", limit=3)
    assert all("CANDY-BAR" in profile.skus for profile in results)


@pytest.mark.parametrize(
    "query",
    ["", "   ", "zzqxv flurble", "wholesale supplier", "🥤🥤🥤", "x" * 100_000, "\x00\n\t", None],
)
def test_search_without_a_match_returns_a_generic_list(query) -> None:
    suppliers = directory(4)
    results = search_directory(suppliers, query)
    assert len(results) == 5
    assert results == search_directory(suppliers, "")


@pytest.mark.parametrize("limit", [0, -3])
def test_search_with_no_room_returns_nothing(limit: int) -> None:
    assert search_directory(directory(0), "soda", limit=limit) == []


def test_search_limit_larger_than_directory() -> None:
    suppliers = directory(0)
    assert len(search_directory(suppliers, "soda", limit=1000)) == len(suppliers)


def test_directory_holds_the_documented_mix() -> None:
    counts = {kind: 0 for kind in SupplierKind}
    for profile in directory(11):
        counts[profile.kind] += 1
    assert counts == KIND_COUNTS
