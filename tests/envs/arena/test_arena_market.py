"""The market's discrete choice among machines: pure, table-driven checks."""

from __future__ import annotations

import numpy as np
import pytest

from tycoon.envs.arena.market import (
    MachineOffer,
    MarketRules,
    choice_shares,
    market_day_sales,
    pooled_attraction,
)
from tycoon.envs.vending.demand import DayContext, Listing, Weather, simulate_day_sales

CONTEXT = DayContext(weekday=1, month=6, weather=Weather.CLOUDY)


def listing(sku: str = "cola", price: int = 200, units: int = 1000, base: float = 20.0) -> Listing:
    return Listing(
        sku=sku,
        category="soda",
        price_cents=price,
        reference_price_cents=200,
        elasticity=2.0,
        base_daily_sales=base,
        units_in_machine=units,
    )


def machine(name: str, *listings: Listing) -> MachineOffer:
    return MachineOffer(machine=name, listings=list(listings))


def mean_units(machines: list[MachineOffer], days: int = 400) -> dict[str, float]:
    totals = {m.machine: 0 for m in machines}
    for day in range(days):
        sales = market_day_sales(np.random.default_rng(day), machines, CONTEXT)
        for name, machine_sales in sales.items():
            totals[name] += sum(sale.units for sale in machine_sales)
    return {name: total / days for name, total in totals.items()}


@pytest.mark.parametrize(
    ("attractions", "rho", "shares"),
    [
        ([1.0, 1.0], 0.3, [0.5, 0.5]),
        ([1.0, 0.0], 0.3, [1.0, 0.0]),
        ([0.0, 0.0], 0.3, [0.0, 0.0]),
        ([2.0, 1.0], 1.0, [2 / 3, 1 / 3]),
    ],
)
def test_choice_shares(attractions, rho, shares):
    assert choice_shares(attractions, rho) == pytest.approx(shares)


def test_pooling_one_machine_is_the_single_machine_model_and_two_add_a_little():
    assert pooled_attraction([0.8], 0.3) == pytest.approx(0.8)
    assert pooled_attraction([1.0, 1.0], 0.3) == pytest.approx(2**0.3)
    assert pooled_attraction([1.0, 1.0], 1.0) == pytest.approx(2.0)  # separate markets


def test_one_machine_sells_like_the_single_agent_demand_model():
    alone = mean_units([machine("a", listing())])["a"]
    single = np.mean(
        [
            simulate_day_sales(np.random.default_rng(day), [listing()], CONTEXT)[0].units
            for day in range(400)
        ]
    )
    assert alone == pytest.approx(single, rel=0.08)


def test_undercutting_takes_sales_from_the_rival():
    even = mean_units([machine("a", listing()), machine("b", listing())])
    cut = mean_units([machine("a", listing(price=180)), machine("b", listing())])
    assert even["a"] == pytest.approx(even["b"], rel=0.1)
    assert cut["a"] > 1.6 * cut["b"]
    assert cut["a"] > even["a"] and cut["b"] < even["b"]


def test_a_stock_out_sends_customers_to_the_machine_that_has_stock():
    both = mean_units([machine("a", listing()), machine("b", listing())])
    empty_b = mean_units([machine("a", listing()), machine("b", listing(units=0))])
    assert empty_b["b"] == 0
    assert empty_b["a"] > 1.5 * both["a"]


def test_a_short_machine_spills_customers_over_and_records_unmet_demand():
    short = [machine("a", listing(units=3)), machine("b", listing())]
    sales = market_day_sales(np.random.default_rng(5), short, CONTEXT)
    a, b = sales["a"][0], sales["b"][0]
    assert a.units == 3 and a.unmet_units > 0
    plain = market_day_sales(
        np.random.default_rng(5), [machine("a", listing()), machine("b", listing())], CONTEXT
    )
    assert b.units > plain["b"][0].units  # a's disappointed customers bought at b


def test_variety_draws_customers_to_a_machine():
    others = [listing(sku=f"snack{i}") for i in range(5)]
    narrow = machine("a", listing())
    wide = machine("b", listing(), *others)
    result = mean_units([narrow, wide])
    cola_only = {
        name: np.mean(
            [
                next(
                    s.units
                    for s in market_day_sales(np.random.default_rng(d), [narrow, wide], CONTEXT)[
                        name
                    ]
                    if s.sku == "cola"
                )
                for d in range(300)
            ]
        )
        for name in ("a", "b")
    }
    assert cola_only["b"] > 1.5 * cola_only["a"]
    assert result["b"] > result["a"]


def test_weather_and_weekday_move_the_whole_site():
    pair = [machine("a", listing()), machine("b", listing())]
    hot = DayContext(weekday=1, month=7, weather=Weather.HOT)
    weekend = DayContext(weekday=6, month=6, weather=Weather.CLOUDY)

    def total(context: DayContext) -> float:
        return np.mean(
            [
                sum(
                    s.units
                    for sales in market_day_sales(np.random.default_rng(d), pair, context).values()
                    for s in sales
                )
                for d in range(300)
            ]
        )

    base = total(CONTEXT)
    assert total(hot) > 1.2 * base
    assert total(weekend) < 0.7 * base


def test_same_generator_same_sales_and_cash_card_add_up():
    pair = [machine("a", listing(), listing(sku="chips")), machine("b", listing(price=250))]
    first = market_day_sales(np.random.default_rng(9), pair, CONTEXT)
    again = market_day_sales(np.random.default_rng(9), pair, CONTEXT)
    assert first == again
    for sales in first.values():
        for sale in sales:
            assert sale.card_units + sale.cash_units == sale.units


def test_rules_are_validated():
    with pytest.raises(ValueError):
        MarketRules(rho=0)
    with pytest.raises(ValueError):
        MarketRules(rho=1.5)
