"""What the night now looks up instead of computing on its cold caches equals what the
old night computed: the day's weather (one draw of the day's own "weather" generator)
on many seeds, start dates and days, in any order, and in a real episode's nights."""

from __future__ import annotations

import datetime
import random
import zlib

import gymnasium
import numpy as np
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending import overnight
from tycoon.envs.vending.demand import Weather, calendar_for_day, draw_weather
from tycoon.envs.vending.randomness import WINDOW_BITS, stream_window


def _old_weather(seed: int, start: datetime.date, day: int) -> Weather:
    """The old night: a generator built from the seed sequence for the day's window, and
    `draw_weather` on it with the month of the day."""
    bits = np.random.PCG64(np.random.SeedSequence([seed & (2**63 - 1), 0, zlib.crc32(b"weather")]))
    window = stream_window(day)
    if window:
        bits.advance(window << WINDOW_BITS)
    return draw_weather(np.random.Generator(bits), calendar_for_day(day, start).month)


def _outcome(function, *args):
    try:
        return function(*args)
    except (ValueError, OverflowError) as error:
        return type(error)


def _cases() -> list[tuple[int, datetime.date, int]]:
    rng = random.Random(88)
    seeds = [0, 1, 4, 2**31 - 1, 2**63 + 5, *(rng.randrange(0, 2**40) for _ in range(12))]
    starts = [
        datetime.date(2025, 1, 1),
        datetime.date(2024, 2, 28),
        datetime.date(9999, 12, 1),  # days past 9999-12-31 do not exist
        *(datetime.date.fromordinal(rng.randrange(1, 3_000_000)) for _ in range(4)),
    ]
    days = [0, 1, 2, 31, 63, 64, 65, 127, 364, 365, 366, 1_000, (1 << 24) - 1, 1 << 24]
    cases = [(seed, start, day) for seed in seeds for start in starts for day in days]
    # and a shuffled walk, so blocks are filled from their middle as well
    cases += [
        (rng.choice(seeds), rng.choice(starts[:2]), rng.randrange(0, 800)) for _ in range(1_500)
    ]
    rng.shuffle(cases)
    return cases


@pytest.mark.parametrize("seen", [False, True], ids=["fresh", "filled"])
def test_the_weather_table_gives_what_the_days_generator_drew(seen: bool) -> None:
    cases = _cases()
    if seen:  # every day asked for once already: the answers now come from the table
        for seed, start, day in cases:
            _outcome(overnight._WEATHER.get, (seed, start), day)
    weathers = set()
    for seed, start, day in cases:
        expected = _outcome(_old_weather, seed, start, day)
        assert _outcome(overnight._WEATHER.get, (seed, start), day) == expected, (seed, start, day)
        assert _outcome(overnight.day_weather, (seed, start), day) == expected
        weathers.add(expected)
    # every kind of weather came up, and the refused days raised
    assert set(Weather) | {OverflowError, ValueError} == weathers


def test_a_nights_weather_is_what_the_old_night_drew(tmp_path) -> None:
    wait = '{"name": "wait_for_next_day", "arguments": {}}'
    for seed in (3, 77, 2026):
        env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / f"w{seed}.db"))
        env.reset(seed=seed)
        world = env.unwrapped.simulation.world
        start = world.config.start_date
        for day in range(40):
            assert world.day == day
            _, _, terminated, truncated, info = env.step(wait)
            assert info["night"]["weather"] == _old_weather(seed, start, day).value
            if terminated or truncated:
                break
        env.close()
