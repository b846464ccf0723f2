"""The night's sales drawn through its fast path are the model's sales, draw for draw.

`draw_day_sales` (plain records) and `draw_weather` (odds summed once per rules object)
are checked against the model written out step by step: the expected demand from the
public factor functions, one normal per listing, then a Poisson and a binomial per
listing; the first weather whose running sum of odds exceeds the draw. Through the env, a
night takes exactly the units it sold out of the machine, a sku's slots emptied in slot
order.
"""

from __future__ import annotations

import json

import gymnasium
import numpy as np
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending.catalog import CATALOG
from tycoon.envs.vending.demand import (
    DEFAULT_DEMAND_RULES,
    DayContext,
    DemandRules,
    Listing,
    ListingRecord,
    Sale,
    Weather,
    WeatherEffect,
    WeatherOdds,
    choice_multiplier,
    day_of_week_factor,
    distinct_products_on_offer,
    draw_day_sales,
    draw_weather,
    expected_demand,
    month_factor,
    price_factor,
    simulate_day_sales,
    weather_factor,
)


def model_day_sales(
    rng: np.random.Generator, listings: list[Listing], context: DayContext, rules: DemandRules
) -> list[tuple[str, int, int, int, int, int]]:
    """The demand model as its docstring states it, one step at a time."""
    distinct = distinct_products_on_offer(listings)
    sigma = rules.noise_sigma
    noise = np.exp(sigma * rng.standard_normal(len(listings)) - sigma * sigma / 2)
    sales = []
    for listing, noise_factor in zip(listings, noise.tolist(), strict=True):
        # the factors as the module docstring multiplies them, nothing looked up
        shared = (
            day_of_week_factor(context.weekday, rules)
            * month_factor(context.month, rules)
            * choice_multiplier(distinct, rules)
            * context.reputation
        )
        factors = (
            listing.base_daily_sales
            * price_factor(
                listing.price_cents, listing.reference_price_cents, listing.elasticity, rules
            )
            * weather_factor(context.weather, listing.category, rules)
            * shared
        )
        assert factors == expected_demand(listing, context, distinct, rules)
        mean = factors * noise_factor
        demand = int(rng.poisson(mean))
        units = min(demand, listing.units_in_machine)
        card = int(rng.binomial(units, rules.card_share))
        sales.append((listing.sku, units, listing.price_cents, card, units - card, demand - units))
    return sales


def random_listings(rng: np.random.Generator) -> list[Listing]:
    products = rng.choice(len(CATALOG), size=int(rng.integers(1, 13)), replace=False)
    return [
        Listing(
            sku=CATALOG[i].sku,
            category=CATALOG[i].category,
            price_cents=int(rng.integers(20, 5 * CATALOG[i].reference_price_cents)),
            reference_price_cents=CATALOG[i].reference_price_cents,
            elasticity=float(rng.uniform(0.5, 3.0)),
            base_daily_sales=float(rng.uniform(0.0, 30.0)),
            units_in_machine=int(rng.integers(0, 40)),
        )
        for i in products
    ]


def random_context(rng: np.random.Generator) -> DayContext:
    return DayContext(
        weekday=int(rng.integers(7)),
        month=int(rng.integers(1, 13)),
        weather=list(Weather)[int(rng.integers(len(Weather)))],
        reputation=float(rng.uniform(0.5, 1.2)),
    )


HOT_SHOP = DemandRules(
    noise_sigma=0.6,
    card_share=0.35,
    weather_effects={
        Weather.SUNNY: WeatherEffect(cold_drinks=1.5, coffee=0.5, food=1.2),
        Weather.CLOUDY: WeatherEffect(cold_drinks=1.0, coffee=1.1, food=0.8),
        Weather.RAINY: WeatherEffect(cold_drinks=0.7, coffee=1.6, food=0.6),
        Weather.HOT: WeatherEffect(cold_drinks=2.0, coffee=0.3, food=0.7),
        Weather.COLD: WeatherEffect(cold_drinks=0.4, coffee=2.2, food=1.1),
    },
)


# no noise at all, a narrow optimum with a steep penalty (many listings hit the floor)
STEADY_CROWDED = DemandRules(
    noise_sigma=0.0, choice_optimum=2, choice_penalty_per_extra_product=0.3, choice_floor=0.6
)


@pytest.mark.parametrize(
    "rules",
    [DEFAULT_DEMAND_RULES, HOT_SHOP, STEADY_CROWDED],
    ids=["default", "hot-shop", "steady-crowded"],
)
def test_draw_day_sales_draws_what_the_model_gives(rules: DemandRules) -> None:
    setup = np.random.default_rng(42)
    for day in range(300):
        listings = random_listings(setup)
        context = random_context(setup)
        model_rng, fast_rng = np.random.default_rng(day), np.random.default_rng(day)
        expected = model_day_sales(model_rng, listings, context, rules)
        records = draw_day_sales(fast_rng, listings, context, rules)
        assert [tuple(record) for record in records] == expected, day
        # draws it skips (a Poisson of mean 0, a binomial of 0 trials) are ones numpy
        # would not have taken: the generator ends where the model's does
        assert fast_rng.bit_generator.state == model_rng.bit_generator.state, day
        plain = [
            ListingRecord(*(getattr(listing, name) for name in ListingRecord._fields))
            for listing in listings
        ]
        from_plain = draw_day_sales(np.random.default_rng(day), plain, context, rules)
        assert [tuple(record) for record in from_plain] == expected, day
        sales = simulate_day_sales(np.random.default_rng(day), listings, context, rules)
        assert sales == [Sale(**record._asdict()) for record in records]


class FixedDraws:
    """A generator stand-in whose uniform draws are given (to hit the odds' edges)."""

    def __init__(self, draws: list[float]) -> None:
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)


def walk_over_the_odds(draw: float, odds: WeatherOdds) -> Weather:
    cumulative = 0.0
    probabilities = odds.probabilities()
    for weather, probability in zip(Weather, probabilities, strict=True):
        cumulative += probability
        if draw < cumulative:
            return weather
    return next(w for w, p in zip(reversed(Weather), reversed(probabilities), strict=True) if p > 0)


# odds summing to a hair under 1 (allowed: within 1e-9), the last weather impossible
SHORT_ODDS = WeatherOdds(sunny=0.1, cloudy=0.2, rainy=0.7 - 1e-12, hot=0.0, cold=0.0)


def edge_draws(odds: WeatherOdds) -> list[float]:
    """Every running sum of the odds, a hair either side of it, and the ends of [0, 1)."""
    sums, cumulative = [], 0.0
    for probability in odds.probabilities():
        cumulative += probability
        sums.append(cumulative)
    draws = [0.0, np.nextafter(1.0, 0.0)]
    for value in sums:
        draws += [value, np.nextafter(value, 0.0), np.nextafter(value, 2.0)]
    return [float(draw) for draw in draws if 0.0 <= draw < 1.0]


@pytest.mark.parametrize("month", range(1, 13))
def test_draw_weather_is_the_first_weather_whose_running_odds_exceed_the_draw(month: int) -> None:
    odds = DEFAULT_DEMAND_RULES.weather_odds[month - 1]
    draws = edge_draws(odds) + np.random.default_rng(month).random(500).tolist()
    drawn = [draw_weather(FixedDraws([draw]), month) for draw in draws]  # type: ignore[arg-type]
    assert drawn == [walk_over_the_odds(draw, odds) for draw in draws]


def test_a_draw_past_odds_short_of_one_goes_to_the_last_weather_that_can_happen() -> None:
    rules = DemandRules(weather_odds=(SHORT_ODDS,) * 12)
    draws = edge_draws(SHORT_ODDS)
    assert max(draws) >= sum(SHORT_ODDS.probabilities())  # some draw falls past the odds
    drawn = [draw_weather(FixedDraws([draw]), 5, rules) for draw in draws]  # type: ignore[arg-type]
    assert drawn == [walk_over_the_odds(draw, SHORT_ODDS) for draw in draws]
    assert drawn[1] is Weather.RAINY  # just under 1: rainy, not the impossible cold


def test_each_rules_object_has_its_own_weather_effects() -> None:
    for weather in Weather:
        for category in ("coffee", "soda", "water", "chips", "sandwich"):
            for rules in (DEFAULT_DEMAND_RULES, HOT_SHOP):
                effect = rules.weather_effects[weather]
                group = "coffee" if category == "coffee" else None
                if group is None:
                    group = "cold_drinks" if category in ("soda", "water") else "food"
                assert weather_factor(weather, category, rules) == getattr(effect, group)
    assert weather_factor(Weather.HOT, "soda", HOT_SHOP) == 2.0
    assert weather_factor(Weather.HOT, "soda") == 1.4


# -- through the env: the night takes what it sold out of the machine ---------------------


def call(name: str, **arguments: object) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def test_a_night_takes_its_sales_from_the_machine_a_skus_slots_in_slot_order(
    backend_url,
) -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", db=backend_url).unwrapped
    env.reset(seed=8)
    try:
        world = env.simulation.world
        small = [slot for slot in world.slots if slot.size == "small"][:3]
        skus = [p.sku for p in world.products.values() if p.size == "small"][:2]
        # one sku in two slots (a little in the first, plenty in the second), one in a third
        for sku in skus:
            world.add_to_storage(sku, 60, 80)
        env.simulation.commit_world_changes()
        for slot, sku, quantity in (
            (small[0], skus[0], 2),
            (small[1], skus[0], 30),
            (small[2], skus[1], 30),
        ):
            env.step(
                call(
                    "stock_machine", sku=sku, quantity=quantity, row=slot.row + 1, col=slot.col + 1
                )
            )
        first_emptied = False
        for _ in range(4):
            before = {id(slot): slot.quantity for slot in world.slots}
            units = {sku: sum(s.quantity for s in world.slots if s.sku == sku) for sku in skus}
            *_, info = env.step(call("wait_for_next_day"))
            sold = {
                sku: units[sku] - sum(s.quantity for s in world.slots if s.sku == sku)
                for sku in skus
            }
            assert sum(sold.values()) == info["night"]["units_sold"]
            taken_first = before[id(small[0])] - small[0].quantity
            taken_second = before[id(small[1])] - small[1].quantity
            assert taken_first + taken_second == sold[skus[0]]
            # the second slot is touched only once the first is empty
            assert taken_second == 0 or small[0].quantity == 0
            if small[0].quantity == 0:
                assert small[0].unit_cost_cents == 0
                first_emptied = first_emptied or taken_second > 0
            assert before[id(small[2])] - small[2].quantity == sold[skus[1]]
        assert first_emptied  # the case under test happened
    finally:
        env.close()
        env.store.dispose()
