from __future__ import annotations

import datetime
import itertools
import time
from collections import Counter

import numpy as np
import pytest
from pydantic import ValidationError

from tycoon.envs.vending.catalog import CATALOG, product_by_sku
from tycoon.envs.vending.demand import (
    DEFAULT_DEMAND_RULES,
    DayContext,
    DemandRules,
    Listing,
    Sale,
    Weather,
    WeatherOdds,
    calendar_for_day,
    choice_multiplier,
    day_of_week_factor,
    distinct_products_on_offer,
    draw_weather,
    expected_demand,
    month_factor,
    price_factor,
    simulate_day_sales,
    weather_factor,
)

# A Wednesday in March on a cloudy day: the month and weather factors are exactly 1.
NEUTRAL_DAY = DayContext(weekday=2, month=3, weather=Weather.CLOUDY)


def listing(sku: str = "cola-can-12oz", price_cents: int | None = None, units: int = 10) -> Listing:
    product = product_by_sku(sku)
    price = product.reference_price_cents if price_cents is None else price_cents
    return Listing.for_product(product, price_cents=price, units_in_machine=units)


def machine_listings(units: int = 10) -> list[Listing]:
    return [listing(product.sku, units=units) for product in CATALOG[:12]]


# --- price ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "reference", "elasticity", "expected"),
    [
        (175, 175, 1.6, 1.0),
        (350, 175, 1.0, 0.5),
        (350, 175, 2.0, 0.25),
        (100, 200, 1.0, 2.0),
        (699, 175, 1.0, 175 / 699),  # just under 4x: still sells a little
        (700, 175, 1.0, 0.0),  # exactly 4x: nobody buys
        (5000, 175, 1.0, 0.0),
        (1, 175, 1.6, 5.0),  # a near-free price lifts demand only up to the boost cap
    ],
)
def test_price_factor(price: int, reference: int, elasticity: float, expected: float) -> None:
    assert price_factor(price, reference, elasticity) == pytest.approx(expected)


def test_price_factor_decreases_with_price_up_to_the_cut_off() -> None:
    factors = [price_factor(price, 175, 1.6) for price in range(100, 800, 5)]
    assert all(a > b for a, b in itertools.pairwise(factors) if a > 0)
    assert all(a >= b for a, b in itertools.pairwise(factors))
    assert factors[-1] == 0.0


@pytest.mark.parametrize(("price", "reference"), [(0, 175), (-25, 175), (175, 0)])
def test_price_factor_rejects_non_positive_prices(price: int, reference: int) -> None:
    with pytest.raises(ValueError, match="Expected a positive"):
        price_factor(price, reference, 1.5)


# --- calendar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekday", "factor"),
    [(0, 1.15), (1, 1.15), (2, 1.15), (3, 1.15), (4, 1.1), (5, 0.65), (6, 0.65)],
)
def test_day_of_week_factor(weekday: int, factor: float) -> None:
    assert day_of_week_factor(weekday) == factor


def test_weekday_and_month_factors_average_to_one() -> None:
    assert np.mean([day_of_week_factor(day) for day in range(7)]) == pytest.approx(1.0)
    assert np.mean([month_factor(month) for month in range(1, 13)]) == pytest.approx(1.0)


@pytest.mark.parametrize(("month", "factor"), [(1, 0.95), (6, 1.1), (8, 1.0), (12, 0.85)])
def test_month_factor(month: int, factor: float) -> None:
    assert month_factor(month) == factor


@pytest.mark.parametrize(
    ("function", "value"),
    [(day_of_week_factor, -1), (day_of_week_factor, 7), (month_factor, 0), (month_factor, 13)],
)
def test_calendar_factors_reject_out_of_range(function, value: int) -> None:
    with pytest.raises(ValueError, match="Expected"):
        function(value)


@pytest.mark.parametrize(
    ("day_index", "date", "weekday", "month"),
    [
        (0, datetime.date(2025, 1, 1), 2, 1),  # 1 January 2025 was a Wednesday
        (4, datetime.date(2025, 1, 5), 6, 1),
        (31, datetime.date(2025, 2, 1), 5, 2),
        (365, datetime.date(2026, 1, 1), 3, 1),
    ],
)
def test_calendar_for_day(day_index: int, date: datetime.date, weekday: int, month: int) -> None:
    assert calendar_for_day(day_index, datetime.date(2025, 1, 1)) == (date, weekday, month)


def test_calendar_for_day_rejects_negative_index() -> None:
    with pytest.raises(ValueError, match="day_index"):
        calendar_for_day(-1, datetime.date(2025, 1, 1))


# --- weather ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weather", "category", "factor"),
    [
        (Weather.CLOUDY, "soda", 1.0),
        (Weather.CLOUDY, "coffee", 1.0),
        (Weather.CLOUDY, "chips", 1.0),
        (Weather.HOT, "soda", 1.4),
        (Weather.HOT, "water", 1.4),
        (Weather.HOT, "coffee", 0.75),
        (Weather.HOT, "chocolate", 0.9),
        (Weather.COLD, "coffee", 1.3),
        (Weather.COLD, "juice", 0.8),
        (Weather.COLD, "sandwich", 1.0),
        (Weather.RAINY, "soda", 0.9),
        (Weather.RAINY, "coffee", 0.95),
        (Weather.RAINY, "chips", 0.9),
        (Weather.SUNNY, "energy", 1.05),
    ],
)
def test_weather_factor(weather: Weather, category: str, factor: float) -> None:
    assert weather_factor(weather, category) == factor


def test_rain_lowers_every_category() -> None:
    categories = {product.category for product in CATALOG}
    assert all(weather_factor(Weather.RAINY, category) < 1 for category in categories)


def test_draw_weather_follows_the_season() -> None:
    rng = np.random.default_rng(11)
    january = Counter(draw_weather(rng, 1) for _ in range(2000))
    july = Counter(draw_weather(rng, 7) for _ in range(2000))
    assert january[Weather.HOT] == 0 and january[Weather.COLD] > 400
    assert july[Weather.COLD] == 0 and july[Weather.HOT] > 400
    # July odds: 40% sunny.
    assert july[Weather.SUNNY] / 2000 == pytest.approx(0.40, abs=0.04)


def test_draw_weather_is_deterministic() -> None:
    first = [draw_weather(np.random.default_rng(5), month) for month in range(1, 13)]
    second = [draw_weather(np.random.default_rng(5), month) for month in range(1, 13)]
    assert first == second


# --- choice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distinct", "multiplier"),
    [(0, 1.0), (1, 1.0), (2, 1.04), (8, 1.28), (9, 1.20), (12, 0.96), (18, 0.5), (100, 0.5)],
)
def test_choice_multiplier(distinct: int, multiplier: float) -> None:
    assert choice_multiplier(distinct) == pytest.approx(multiplier)


def test_choice_multiplier_rises_then_falls_and_never_cuts_more_than_half() -> None:
    values = [choice_multiplier(n) for n in range(1, 60)]
    peak = int(np.argmax(values)) + 1
    assert peak == DEFAULT_DEMAND_RULES.choice_optimum
    assert all(a < b for a, b in itertools.pairwise(values[:peak]))
    assert all(a >= b for a, b in itertools.pairwise(values[peak - 1 :]))
    assert values[peak] < values[peak - 1]
    assert min(values) == 0.5


def test_choice_multiplier_rejects_negative() -> None:
    with pytest.raises(ValueError, match="distinct_products"):
        choice_multiplier(-1)


def test_distinct_products_on_offer_ignores_empty_slots_and_duplicates() -> None:
    listings = [
        listing("cola-can-12oz"),
        listing("cola-can-12oz"),
        listing("trail-mix-2oz", units=0),
    ]
    assert distinct_products_on_offer(listings) == 1


# --- rules and models -------------------------------------------------------------------


def test_demand_rules_round_trip_through_json() -> None:
    rules = DemandRules(card_share=0.6, choice_optimum=6)
    assert DemandRules.model_validate_json(rules.model_dump_json()) == rules


@pytest.mark.parametrize(
    "overrides",
    [
        {"weekday_factors": (1.0,) * 6},
        {"month_factors": (1.0,) * 13},
        {"weather_odds": DEFAULT_DEMAND_RULES.weather_odds[:11]},
        {"weather_effects": {Weather.SUNNY: DEFAULT_DEMAND_RULES.weather_effects[Weather.SUNNY]}},
        {"card_share": 1.5},
        {"max_price_multiple": 1.0},
    ],
)
def test_demand_rules_reject_malformed_numbers(overrides: dict) -> None:
    with pytest.raises(ValidationError):
        DemandRules(**overrides)


def test_weather_odds_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match="summing to 1"):
        WeatherOdds(sunny=0.5, cloudy=0.5, rainy=0.5, hot=0.0, cold=0.0)


@pytest.mark.parametrize("reputation", [0.4, 1.3])
def test_day_context_rejects_reputation_out_of_range(reputation: float) -> None:
    with pytest.raises(ValidationError):
        DayContext(weekday=0, month=1, weather=Weather.SUNNY, reputation=reputation)


def test_sale_money_properties() -> None:
    sale = Sale(sku="cola-can-12oz", units=5, price_cents=175, card_units=3, cash_units=2)
    assert (sale.revenue_cents, sale.card_cents, sale.cash_cents) == (875, 525, 350)
    assert sale.unmet_units == 0


def test_sale_rejects_card_and_cash_not_adding_up() -> None:
    with pytest.raises(ValidationError, match="card_units \\+ cash_units"):
        Sale(sku="cola-can-12oz", units=5, price_cents=175, card_units=3, cash_units=3)


# --- expected demand --------------------------------------------------------------------


def test_expected_demand_is_the_product_of_the_factors() -> None:
    cola = listing(price_cents=200)
    context = DayContext(weekday=5, month=7, weather=Weather.HOT, reputation=0.8)
    expected = (
        cola.base_daily_sales
        * price_factor(200, 175, cola.elasticity)
        * 0.65  # Saturday
        * 1.1  # July
        * 1.4  # hot, cold drink
        * 1.28  # eight products on offer
        * 0.8  # reputation
    )
    assert expected_demand(cola, context, 8, DEFAULT_DEMAND_RULES) == pytest.approx(expected)


def test_expected_demand_at_reference_on_a_neutral_day_is_base_sales_times_weekday() -> None:
    cola = listing()
    assert expected_demand(cola, NEUTRAL_DAY, 1) == pytest.approx(cola.base_daily_sales * 1.15)


def test_higher_price_means_fewer_expected_sales() -> None:
    demands = [
        expected_demand(listing(price_cents=price), NEUTRAL_DAY, 1)
        for price in (150, 175, 250, 500)
    ]
    assert demands == sorted(demands, reverse=True)
    assert len(set(demands)) == len(demands)
    assert expected_demand(listing(price_cents=700), NEUTRAL_DAY, 1) == 0.0


# --- simulated sales --------------------------------------------------------------------


def test_simulate_day_sales_never_sells_more_than_stock_and_splits_every_unit() -> None:
    rng = np.random.default_rng(3)
    listings = [
        listing(product.sku, units=units)
        for product, units in zip(CATALOG[:12], range(12), strict=True)
    ]
    hot_day = DayContext(weekday=2, month=7, weather=Weather.HOT, reputation=1.2)
    for _ in range(300):
        sales = simulate_day_sales(rng, listings, hot_day)
        assert [sale.sku for sale in sales] == [item.sku for item in listings]
        for sale, item in zip(sales, listings, strict=True):
            assert 0 <= sale.units <= item.units_in_machine
            assert sale.card_units + sale.cash_units == sale.units
            assert sale.price_cents == item.price_cents
            # Customers go unserved only when the slot has run dry.
            assert sale.unmet_units == 0 or sale.units == item.units_in_machine


def test_empty_slot_sells_nothing_and_reports_unmet_demand() -> None:
    rng = np.random.default_rng(4)
    listings = [listing("cola-can-12oz", units=0), listing("diet-cola-can-12oz", units=50)]
    days = [simulate_day_sales(rng, listings, NEUTRAL_DAY) for _ in range(50)]
    assert all(day[0].units == 0 for day in days)
    assert sum(day[0].unmet_units for day in days) > 100  # about 4.5 a day
    assert sum(day[1].units for day in days) > 0


def test_simulate_day_sales_with_no_listings_returns_nothing() -> None:
    assert simulate_day_sales(np.random.default_rng(0), [], NEUTRAL_DAY) == []


def test_same_seed_same_sales_different_seed_different_sales() -> None:
    def run(seed: int) -> list[list[Sale]]:
        rng = np.random.default_rng(seed)
        return [simulate_day_sales(rng, machine_listings(), NEUTRAL_DAY) for _ in range(10)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_mean_sales_at_reference_price_match_expected_demand() -> None:
    rng = np.random.default_rng(2024)
    cola = listing(units=1000)
    days = 5000
    sales = [simulate_day_sales(rng, [cola], NEUTRAL_DAY)[0] for _ in range(days)]
    mean_units = sum(sale.units for sale in sales) / days
    assert mean_units == pytest.approx(expected_demand(cola, NEUTRAL_DAY, 1), rel=0.03)
    card_share = sum(sale.card_units for sale in sales) / sum(sale.units for sale in sales)
    assert card_share == pytest.approx(DEFAULT_DEMAND_RULES.card_share, abs=0.02)


def test_higher_price_sells_fewer_units_over_many_days() -> None:
    def mean_units(price_cents: int) -> float:
        rng = np.random.default_rng(17)
        item = listing(price_cents=price_cents, units=1000)
        return np.mean([simulate_day_sales(rng, [item], NEUTRAL_DAY)[0].units for _ in range(500)])

    assert mean_units(150) > mean_units(175) > mean_units(250) > mean_units(400)


def test_a_machine_day_is_fast() -> None:
    rng = np.random.default_rng(0)
    listings = machine_listings()
    days = 2000
    started = time.perf_counter()
    for _ in range(days):
        simulate_day_sales(rng, listings, NEUTRAL_DAY)
    per_day = (time.perf_counter() - started) / days
    # About 175 us on the slow 2-core development VM; the bound leaves room for loaded CI.
    assert per_day < 2e-3
