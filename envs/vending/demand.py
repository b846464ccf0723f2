"""Customer demand for one vending machine: pure functions of listings, a day and a generator.

Per product per day:

    expected = base_daily_sales x price_factor x day_of_week x month x weather(category)
               x choice_multiplier(distinct products on offer) x reputation
    demand   ~ Poisson(expected x noise),  noise = exp(sigma Z - sigma^2 / 2), Z ~ N(0, 1)
    sold     = min(demand, units in the machine)

The noise is lognormal with mean 1, so the mean of the realised demand equals the expected
demand while days vary more than a plain Poisson would (a crowded meeting, a quiet day).
Each unit sold is paid by card with probability `card_share`, otherwise in cash.

Every tunable number lives in `DemandRules`, which the env carries in its config. All
randomness comes from the `numpy.random.Generator` passed in; draws are made in listing
order, so equal generator states and equal inputs give equal sales.
"""

from __future__ import annotations

import bisect
import datetime
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from tycoon.envs.vending.catalog import DRINK_CATEGORIES, Product
from tycoon.envs.vending.day_table import DayTable


class Weather(StrEnum):
    SUNNY = "sunny"
    CLOUDY = "cloudy"
    RAINY = "rainy"
    HOT = "hot"
    COLD = "cold"


_WEATHERS = tuple(Weather)

# Categories whose demand rises when it is cold; every other drink category sells more
# when it is hot, and food follows footfall only.
COFFEE_CATEGORIES = frozenset({"coffee"})


class WeatherOdds(BaseModel, frozen=True):
    """Probability of each kind of weather on a day of one month; they sum to 1."""

    sunny: float = Field(ge=0)
    cloudy: float = Field(ge=0)
    rainy: float = Field(ge=0)
    hot: float = Field(ge=0)
    cold: float = Field(ge=0)

    @model_validator(mode="after")
    def _check_sum(self) -> WeatherOdds:
        total = sum(self.probabilities())
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"Expected weather probabilities summing to 1, got {total}")
        return self

    def probabilities(self) -> tuple[float, ...]:
        """The probabilities in `Weather` member order."""
        return tuple(getattr(self, weather.value) for weather in Weather)


class WeatherEffect(BaseModel, frozen=True):
    """Demand multipliers one kind of weather applies to each group of categories."""

    cold_drinks: float = Field(gt=0)
    coffee: float = Field(gt=0)
    food: float = Field(gt=0)


def _odds(sunny: float, cloudy: float, rainy: float, hot: float, cold: float) -> WeatherOdds:
    return WeatherOdds(sunny=sunny, cloudy=cloudy, rainy=rainy, hot=hot, cold=cold)


# A temperate northern-hemisphere city: hot days only in May-September, cold days only in
# October-April.
_DEFAULT_WEATHER_ODDS = (
    _odds(sunny=0.25, cloudy=0.30, rainy=0.15, hot=0.00, cold=0.30),  # January
    _odds(sunny=0.25, cloudy=0.30, rainy=0.15, hot=0.00, cold=0.30),  # February
    _odds(sunny=0.30, cloudy=0.30, rainy=0.25, hot=0.00, cold=0.15),  # March
    _odds(sunny=0.35, cloudy=0.30, rainy=0.30, hot=0.00, cold=0.05),  # April
    _odds(sunny=0.40, cloudy=0.25, rainy=0.25, hot=0.10, cold=0.00),  # May
    _odds(sunny=0.45, cloudy=0.20, rainy=0.15, hot=0.20, cold=0.00),  # June
    _odds(sunny=0.40, cloudy=0.15, rainy=0.15, hot=0.30, cold=0.00),  # July
    _odds(sunny=0.40, cloudy=0.15, rainy=0.15, hot=0.30, cold=0.00),  # August
    _odds(sunny=0.45, cloudy=0.20, rainy=0.20, hot=0.15, cold=0.00),  # September
    _odds(sunny=0.35, cloudy=0.30, rainy=0.25, hot=0.00, cold=0.10),  # October
    _odds(sunny=0.25, cloudy=0.35, rainy=0.25, hot=0.00, cold=0.15),  # November
    _odds(sunny=0.20, cloudy=0.30, rainy=0.20, hot=0.00, cold=0.30),  # December
)

_DEFAULT_WEATHER_EFFECTS = {
    Weather.SUNNY: WeatherEffect(cold_drinks=1.05, coffee=0.95, food=1.0),
    Weather.CLOUDY: WeatherEffect(cold_drinks=1.0, coffee=1.0, food=1.0),
    # Fewer people walk past the machine in the rain.
    Weather.RAINY: WeatherEffect(cold_drinks=0.9, coffee=0.95, food=0.9),
    Weather.HOT: WeatherEffect(cold_drinks=1.4, coffee=0.75, food=0.9),
    Weather.COLD: WeatherEffect(cold_drinks=0.8, coffee=1.3, food=1.0),
}


class DemandRules(BaseModel, frozen=True):
    """Every number of the demand model, with defaults for an office-building machine.

    Defaults:
    - max_price_multiple = 4.0: at or above 4x the reference price nobody buys.
    - max_price_boost = 5.0: a low price lifts demand at most 5x (the constant-elasticity
      curve would otherwise promise thousands of sales at 1 cent; passers-by are finite).
    - weekday_factors (Mon..Sun) = 1.15, 1.15, 1.15, 1.15, 1.1, 0.65, 0.65: an office is
      full Monday to Thursday, thins on Friday and is nearly empty at weekends; the week
      averages exactly 1.0.
    - month_factors (Jan..Dec) = 0.95, 0.95, 1.0, 1.0, 1.05, 1.1, 1.1, 1.0, 1.05, 1.0,
      0.95, 0.85: busier early summer, thin in August holidays and in December; the year
      averages exactly 1.0. (Heat itself is in the weather, not here.)
    - weather_odds: one `WeatherOdds` per month, hot days May-September and cold days
      October-April (see `_DEFAULT_WEATHER_ODDS`).
    - weather_effects (cold drinks / coffee / food): sunny 1.05/0.95/1.0, cloudy 1/1/1,
      rainy 0.9/0.95/0.9, hot 1.4/0.75/0.9, cold 0.8/1.3/1.0.
    - choice: one product on offer is 1.0; each further distinct product adds
      choice_bonus_per_product = 0.04 up to choice_optimum = 8 (peak 1.28); each product
      past the optimum removes choice_penalty_per_extra_product = 0.08 (12 products: 0.96);
      never below choice_floor = 0.5 (at most a 50% cut).
    - noise_sigma = 0.25: the lognormal day-to-day noise (about +-25% around expected).
    - card_share = 0.70: share of units paid by card; the rest is cash in the machine.
    """

    max_price_multiple: float = Field(default=4.0, gt=1.0)
    max_price_boost: float = Field(default=5.0, ge=1.0)
    weekday_factors: tuple[float, ...] = (1.15, 1.15, 1.15, 1.15, 1.1, 0.65, 0.65)
    month_factors: tuple[float, ...] = (
        0.95, 0.95, 1.0, 1.0, 1.05, 1.1, 1.1, 1.0, 1.05, 1.0, 0.95, 0.85,
    )  # fmt: skip
    weather_odds: tuple[WeatherOdds, ...] = _DEFAULT_WEATHER_ODDS
    weather_effects: dict[Weather, WeatherEffect] = Field(
        default_factory=lambda: dict(_DEFAULT_WEATHER_EFFECTS)
    )
    choice_bonus_per_product: float = Field(default=0.04, ge=0)
    choice_optimum: int = Field(default=8, ge=1)
    choice_penalty_per_extra_product: float = Field(default=0.08, ge=0)
    choice_floor: float = Field(default=0.5, gt=0, le=1)
    noise_sigma: float = Field(default=0.25, ge=0)
    card_share: float = Field(default=0.70, ge=0, le=1)

    @field_validator("weekday_factors")
    @classmethod
    def _seven_weekdays(cls, factors: tuple[float, ...]) -> tuple[float, ...]:
        return _check_factors(factors, expected_length=7, what="weekday_factors")

    @field_validator("month_factors")
    @classmethod
    def _twelve_months(cls, factors: tuple[float, ...]) -> tuple[float, ...]:
        return _check_factors(factors, expected_length=12, what="month_factors")

    @field_validator("weather_odds")
    @classmethod
    def _twelve_months_of_weather(cls, odds: tuple[WeatherOdds, ...]) -> tuple[WeatherOdds, ...]:
        if len(odds) != 12:
            raise ValueError(f"Expected 12 weather_odds (Jan..Dec), got {len(odds)}")
        return odds

    @field_validator("weather_effects")
    @classmethod
    def _every_weather(cls, effects: dict[Weather, WeatherEffect]) -> dict[Weather, WeatherEffect]:
        missing = [weather.value for weather in Weather if weather not in effects]
        if missing:
            raise ValueError(f"Expected weather_effects for every Weather, missing {missing}")
        return effects


def _check_factors(
    factors: tuple[float, ...], expected_length: int, what: str
) -> tuple[float, ...]:
    if len(factors) != expected_length:
        raise ValueError(f"Expected {expected_length} {what}, got {len(factors)}")
    if any(factor < 0 for factor in factors):
        raise ValueError(f"Expected non-negative {what}, got {factors}")
    return factors


DEFAULT_DEMAND_RULES = DemandRules()


class _RulesTables:
    """What a `DemandRules` implies, worked out once: a night reads these instead of
    walking the pydantic models (same numbers, summed and looked up in the same order)."""

    __slots__ = ("calendar_factors", "cumulative_odds", "last_possible_weather", "weather_effects")

    def __init__(self, rules: DemandRules) -> None:
        cumulative_odds = []
        last_possible = []
        for odds in rules.weather_odds:
            probabilities = odds.probabilities()
            sums, cumulative = [], 0.0
            for probability in probabilities:
                cumulative += probability
                sums.append(cumulative)
            cumulative_odds.append(tuple(sums))
            last_possible.append(
                next(
                    w
                    for w, p in zip(reversed(Weather), reversed(probabilities), strict=True)
                    if p > 0
                )
            )
        # per month: the running sums of the odds in `Weather` order, and the weather a
        # draw at or above their total falls to
        self.cumulative_odds: tuple[tuple[float, ...], ...] = tuple(cumulative_odds)
        self.last_possible_weather: tuple[Weather, ...] = tuple(last_possible)
        # per weather: its factor by group of categories (see `_category_group`)
        self.weather_effects: dict[Weather, tuple[float, float, float]] = {
            weather: (effect.coffee, effect.cold_drinks, effect.food)
            for weather, effect in rules.weather_effects.items()
        }
        # weekday x month x choice factors by (weekday, month, distinct products), filled as
        # days ask (at most 7 x 12 x the products on offer)
        self.calendar_factors: dict[tuple[int, int, int], float] = {}


# the tables of each rules object in use, holding the rules so that an id is not reused
_TABLES: dict[int, tuple[DemandRules, _RulesTables]] = {}
_TABLES_KEPT = 64


def _tables(rules: DemandRules) -> _RulesTables:
    entry = _TABLES.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_TABLES) >= _TABLES_KEPT:
            _TABLES.clear()
        entry = _TABLES[id(rules)] = (rules, _RulesTables(rules))
    return entry[1]


# the weather factor a category takes: 0 coffee, 1 cold drinks, 2 food
_CATEGORY_GROUPS: dict[str, int] = {}


def _category_group(category: str) -> int:
    group = _CATEGORY_GROUPS.get(category)
    if group is None:
        if category in COFFEE_CATEGORIES:
            group = 0
        elif category in DRINK_CATEGORIES:
            group = 1
        else:
            group = 2
        _CATEGORY_GROUPS[category] = group
    return group


class Listing(BaseModel):
    """One product as it stands in the machine today: its price, its stock, its customers."""

    sku: str
    category: str
    price_cents: int = Field(gt=0)
    reference_price_cents: int = Field(gt=0)
    elasticity: float = Field(gt=0)
    base_daily_sales: float = Field(ge=0)
    units_in_machine: int = Field(ge=0)

    @classmethod
    def for_product(cls, product: Product, price_cents: int, units_in_machine: int) -> Listing:
        return cls(
            sku=product.sku,
            category=product.category,
            price_cents=price_cents,
            reference_price_cents=product.reference_price_cents,
            elasticity=product.elasticity,
            base_daily_sales=product.base_daily_sales,
            units_in_machine=units_in_machine,
        )


class DayContext(BaseModel, frozen=True):
    """What the day brings to every product: calendar, weather and the machine's reputation.
    A value (frozen): a night reuses the context of an equal day (`overnight._day_context`)."""

    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    month: int = Field(ge=1, le=12)
    weather: Weather
    # The env lowers this when customer complaints go unanswered.
    reputation: float = Field(default=1.0, ge=0.5, le=1.2)


class Sale(BaseModel):
    """One product's sales for one day, at one price."""

    sku: str
    units: int = Field(ge=0)
    price_cents: int = Field(gt=0)
    card_units: int = Field(ge=0)
    cash_units: int = Field(ge=0)
    # Customers who wanted the product but found the slot empty (stock-out complaints).
    unmet_units: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _card_and_cash_add_up(self) -> Sale:
        if self.card_units + self.cash_units != self.units:
            raise ValueError(
                f"Expected card_units + cash_units == units, got "
                f"{self.card_units} + {self.cash_units} != {self.units}"
            )
        return self

    @property
    def revenue_cents(self) -> int:
        return self.units * self.price_cents

    @property
    def card_cents(self) -> int:
        return self.card_units * self.price_cents

    @property
    def cash_cents(self) -> int:
        return self.cash_units * self.price_cents


class ListingRecord(NamedTuple):
    """A `Listing` as a plain record, unvalidated: what the night builds from the world's
    own rows each day (cheaper than a model; the same fields, read the same way)."""

    sku: str
    category: str
    price_cents: int
    reference_price_cents: int
    elasticity: float
    base_daily_sales: float
    units_in_machine: int


class SaleRecord(NamedTuple):
    """A `Sale` as a plain record (the same fields): what the night's draws give."""

    sku: str
    units: int
    price_cents: int
    card_units: int
    cash_units: int
    unmet_units: int


class CalendarDay(NamedTuple):
    date: datetime.date
    weekday: int  # 0 = Monday
    month: int  # 1..12


def calendar_for_day(day_index: int, start: datetime.date) -> CalendarDay:
    """The date, weekday and month of day `day_index` (0 = the start date) of an episode."""
    return _CALENDAR.get(start, day_index)


def _calendar_day(start: datetime.date, day_index: int) -> CalendarDay:
    if day_index < 0:
        raise ValueError(f"Expected day_index >= 0, got {day_index}")
    date = start + datetime.timedelta(days=day_index)
    return CalendarDay(date=date, weekday=date.weekday(), month=date.month)


# worked out a year at a time: a night looks its day up (see `day_table`)
_CALENDAR: DayTable[datetime.date, CalendarDay] = DayTable(_calendar_day)


def price_factor(
    price_cents: int,
    reference_cents: int,
    elasticity: float,
    rules: DemandRules = DEFAULT_DEMAND_RULES,
) -> float:
    """Demand multiplier of a price: `(price / reference) ** -elasticity`, 1 at the reference.

    Zero at or above `rules.max_price_multiple` x reference; at most `rules.max_price_boost`.
    """
    if price_cents <= 0:
        raise ValueError(f"Expected a positive price in cents, got {price_cents}")
    if reference_cents <= 0:
        raise ValueError(f"Expected a positive reference price in cents, got {reference_cents}")
    ratio = price_cents / reference_cents
    if ratio >= rules.max_price_multiple:
        return 0.0
    return min(ratio**-elasticity, rules.max_price_boost)


def day_of_week_factor(weekday: int, rules: DemandRules = DEFAULT_DEMAND_RULES) -> float:
    if not 0 <= weekday <= 6:
        raise ValueError(f"Expected weekday 0 (Monday) .. 6 (Sunday), got {weekday}")
    return rules.weekday_factors[weekday]


def month_factor(month: int, rules: DemandRules = DEFAULT_DEMAND_RULES) -> float:
    if not 1 <= month <= 12:
        raise ValueError(f"Expected month 1 (January) .. 12 (December), got {month}")
    return rules.month_factors[month - 1]


def draw_weather(
    rng: np.random.Generator, month: int, rules: DemandRules = DEFAULT_DEMAND_RULES
) -> Weather:
    """Draw one day's weather from the month's odds; uses exactly one uniform draw."""
    if not 1 <= month <= 12:
        raise ValueError(f"Expected month 1 (January) .. 12 (December), got {month}")
    tables = _tables(rules)
    draw = rng.random()
    # the first weather whose running sum of odds exceeds the draw
    position = bisect.bisect_right(tables.cumulative_odds[month - 1], draw)
    if position < len(_WEATHERS):
        return _WEATHERS[position]
    # The probabilities may sum to a hair under 1; the remainder goes to the last weather
    # that can happen at all.
    return tables.last_possible_weather[month - 1]


def weather_factor(
    weather: Weather, category: str, rules: DemandRules = DEFAULT_DEMAND_RULES
) -> float:
    return _tables(rules).weather_effects[weather][_category_group(category)]


def choice_multiplier(distinct_products: int, rules: DemandRules = DEFAULT_DEMAND_RULES) -> float:
    """Demand multiplier of variety: more choice draws customers, too much confuses them."""
    if distinct_products < 0:
        raise ValueError(f"Expected distinct_products >= 0, got {distinct_products}")
    # With nothing on offer the factor multiplies nothing; 1.0 keeps it neutral.
    if distinct_products <= rules.choice_optimum:
        extra = max(distinct_products - 1, 0)
        return 1.0 + rules.choice_bonus_per_product * extra
    peak = 1.0 + rules.choice_bonus_per_product * (rules.choice_optimum - 1)
    past_optimum = distinct_products - rules.choice_optimum
    return max(peak - rules.choice_penalty_per_extra_product * past_optimum, rules.choice_floor)


def distinct_products_on_offer(listings: Sequence[Listing | ListingRecord]) -> int:
    """Distinct skus customers can see today: an empty slot offers no choice."""
    return len({listing.sku for listing in listings if listing.units_in_machine > 0})


def expected_demand(
    listing: Listing,
    context: DayContext,
    distinct_products: int,
    rules: DemandRules = DEFAULT_DEMAND_RULES,
) -> float:
    """Mean units customers want today (before noise and before the stock cap)."""
    return _expected_demand_on_day(
        listing,
        _tables(rules).weather_effects[context.weather],
        _shared_day_factor(context, distinct_products, rules),
        rules,
    )


def _shared_day_factor(context: DayContext, distinct_products: int, rules: DemandRules) -> float:
    """The part of today's demand every product shares (computed once per simulated day):
    weekday x month x choice x reputation, the first three looked up once worked out."""
    calendar_factors = _tables(rules).calendar_factors
    key = (context.weekday, context.month, distinct_products)
    factor = calendar_factors.get(key)
    if factor is None:
        factor = calendar_factors[key] = (
            day_of_week_factor(context.weekday, rules)
            * month_factor(context.month, rules)
            * choice_multiplier(distinct_products, rules)
        )
    return factor * context.reputation


def _expected_demand_on_day(
    listing: Listing | ListingRecord,
    weather_effects: tuple[float, float, float],
    shared_day_factor: float,
    rules: DemandRules,
) -> float:
    """`weather_effects`: today's weather's factors by category group (`_RulesTables`)."""
    return (
        listing.base_daily_sales
        * price_factor(
            listing.price_cents, listing.reference_price_cents, listing.elasticity, rules
        )
        * weather_effects[_category_group(listing.category)]
        * shared_day_factor
    )


def paid_sale(
    rng: np.random.Generator, listing: Listing, units: int, unmet_units: int, rules: DemandRules
) -> Sale:
    """`units` of a listing sold, split between card and cash by one binomial draw."""
    card_units = int(rng.binomial(units, rules.card_share))
    return Sale(
        sku=listing.sku,
        units=units,
        price_cents=listing.price_cents,
        card_units=card_units,
        cash_units=units - card_units,
        unmet_units=unmet_units,
    )


def simulate_day_sales(
    rng: np.random.Generator,
    listings: Sequence[Listing],
    context: DayContext,
    rules: DemandRules = DEFAULT_DEMAND_RULES,
) -> list[Sale]:
    """One day of customers: one `Sale` per listing, in listing order.

    Draws, in this order: one normal per listing (noise), then for each listing in turn a
    Poisson (demand) and a binomial (card vs cash). Listings with no stock still draw their
    demand, which their Sale reports as `unmet_units` (customers who found the slot empty).
    """
    return [
        Sale(
            sku=record.sku,
            units=record.units,
            price_cents=record.price_cents,
            card_units=record.card_units,
            cash_units=record.cash_units,
            unmet_units=record.unmet_units,
        )
        for record in draw_day_sales(rng, listings, context, rules)
    ]


def draw_day_sales(
    rng: np.random.Generator,
    listings: Sequence[Listing | ListingRecord],
    context: DayContext,
    rules: DemandRules = DEFAULT_DEMAND_RULES,
) -> list[SaleRecord]:
    """`simulate_day_sales` as plain records (the same draws, the same numbers)."""
    if not listings:
        return []
    shared = _shared_day_factor(context, distinct_products_on_offer(listings), rules)
    sigma = rules.noise_sigma
    # exp(sigma Z - sigma^2 / 2), worked in place on the draws' array: numpy's product
    # and difference with a float are each one IEEE double operation, rounded as Python's
    # (no fused multiply-add), and exp is numpy's (its SIMD exp differs from libm's)
    noise_array = rng.standard_normal(len(listings))
    noise_array *= sigma
    noise_array -= sigma * sigma / 2
    noise = np.exp(noise_array, out=noise_array).tolist()
    weather_effects = _tables(rules).weather_effects[context.weather]
    poisson, binomial, card_share = rng.poisson, rng.binomial, rules.card_share
    max_multiple, max_boost = rules.max_price_multiple, rules.max_price_boost
    groups = _CATEGORY_GROUPS
    sales = []
    # Scalar draws in a loop: for a machine's dozen listings numpy's per-call array checks
    # cost more than the draws themselves. `_expected_demand_on_day` and `price_factor`
    # are written out here (the same checks, the same products in the same order).
    for listing, noise_factor in zip(listings, noise, strict=True):
        price, reference = listing.price_cents, listing.reference_price_cents
        elasticity, stock = listing.elasticity, listing.units_in_machine
        if price <= 0 or reference <= 0:
            price_factor(price, reference, elasticity, rules)  # raises what it would
        ratio = price / reference
        factor = 0.0 if ratio >= max_multiple else min(ratio**-elasticity, max_boost)
        group = groups.get(listing.category)
        if group is None:
            group = _category_group(listing.category)
        mean = listing.base_daily_sales * factor * weather_effects[group] * shared * noise_factor
        # numpy draws nothing for a Poisson of mean 0 or a binomial of 0 trials (and
        # returns 0): skipping those calls leaves the generator where it would be. A
        # scalar draw is already a Python int (no `int()` around it; tests check the type)
        demand = poisson(mean) if mean else 0
        units = demand if demand < stock else stock
        card_units = binomial(units, card_share) if units else 0  # as `paid_sale`
        sales.append(
            SaleRecord(listing.sku, units, price, card_units, units - card_units, demand - units)
        )
    return sales
