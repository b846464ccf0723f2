"""The night's values taken the short way are those the long way gave.

A night's sales draws hand back numpy's scalar draws without an `int()` around them:
exact `int` types on many seeded inputs. A night's `DayContext` is
taken from the contexts of equal days already made: it equals the one the night validated
afresh, on many seeds, days and reputations.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pydantic
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending import overnight
from tycoon.envs.vending.demand import (
    DayContext,
    ListingRecord,
    Weather,
    calendar_for_day,
    draw_day_sales,
)


@pytest.mark.parametrize("seed", range(30))
def test_night_sales_counts_are_python_ints(seed: int) -> None:
    """Small and large means (numpy's two Poisson algorithms), empty slots, products
    priced out: every count a night's sales record holds is exactly an `int` (what
    `int()` around each draw gave; test_night_sales checks the values draw for draw)."""
    rng = np.random.default_rng(seed)
    listings = [
        ListingRecord(
            f"SKU-{i}",
            ("coffee", "soda", "snacks")[i % 3],
            int(rng.integers(50, 900)),
            200,
            float(rng.uniform(0.2, 3.0)),
            float(rng.choice([0.0, 0.5, 3.0, 15.0, 80.0, 400.0])),
            int(rng.integers(0, 500)),
        )
        for i in range(int(rng.integers(1, 14)))
    ]
    context = DayContext(weekday=seed % 7, month=seed % 12 + 1, weather=list(Weather)[seed % 5])
    records = draw_day_sales(np.random.default_rng(seed + 7), listings, context)
    assert len(records) == len(listings)
    for record in records:
        assert [type(value) for value in record[1:]] == [int] * 5, record
    assert json.dumps([list(r) for r in records])  # a numpy integer would not serialize


def test_night_sales_draw_both_ways_in_the_seeds_above() -> None:
    """The seeds above reach sold units (a binomial drawn) and unmet demand."""
    seen_sold = seen_unmet = False
    for seed in range(30):
        rng = np.random.default_rng(seed)
        listing = ListingRecord("A", "soda", 100, 200, 1.0, 400.0, int(rng.integers(0, 50)))
        context = DayContext(weekday=0, month=1, weather=Weather.SUNNY)
        (record,) = draw_day_sales(np.random.default_rng(seed), [listing], context)
        seen_sold |= record.units > 0
        seen_unmet |= record.unmet_units > 0
    assert seen_sold and seen_unmet


def old_day_context(world) -> DayContext:
    """`_day_context` as it was: a new model validated every night."""
    day, start = world.day, world.config.start_date
    calendar = calendar_for_day(day, start)
    return DayContext(
        weekday=calendar.weekday,
        month=calendar.month,
        weather=overnight.day_weather((world.episode.seed, start), day),
        reputation=min(1.2, max(0.5, world.episode.reputation)),
    )


@pytest.mark.parametrize("seed", [0, 3, 2**40 + 7])
def test_a_nights_day_context_is_the_one_validated_afresh(tmp_path: Path, seed: int) -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "w.db"))
    try:
        env.reset(seed=seed)
        world = env.unwrapped.simulation.world
        rng = np.random.default_rng(seed)
        reputations = [0.1, 0.5, 0.5000000001, 0.97, 1.0, 1, 1.2, 1.3, float(rng.random())]
        for day in [*range(0, 400, 7), 5000, 70000]:
            world.set_clock(day, world.config.day_start_minute)
            for reputation in reputations:
                world.episode.reputation = reputation
                context = overnight._day_context(world)
                again = overnight._day_context(world)
                assert context == old_day_context(world)
                assert type(context.reputation) is float
                assert again is context  # an equal day's context, not a new one
    finally:
        env.close()


def test_a_day_context_cannot_change() -> None:
    context = DayContext(weekday=1, month=2, weather=Weather.RAINY, reputation=0.9)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        context.reputation = 1.0
    assert context.reputation == 0.9
