"""The calendar and the clock's text looked up from a `DayTable` equal what the old
day-by-day code gave, on many starts and days, at the ends of the calendar too."""

from __future__ import annotations

import datetime
import random

import pytest

from tycoon.envs.vending import day_table
from tycoon.envs.vending.day_table import DayTable
from tycoon.envs.vending.demand import CalendarDay, calendar_for_day
from tycoon.envs.vending.world import _DAY_TEXTS


def _old_calendar(day_index: int, start: datetime.date) -> CalendarDay:
    if day_index < 0:
        raise ValueError(f"Expected day_index >= 0, got {day_index}")
    date = start + datetime.timedelta(days=day_index)
    return CalendarDay(date=date, weekday=date.weekday(), month=date.month)


def _old_day_text(start: datetime.date, day: int) -> str:
    today = datetime.date.fromordinal(start.toordinal() + day)
    return f"Day {day + 1} ({today:%a %Y-%m-%d})"


def _cases() -> list[tuple[datetime.date, int]]:
    rng = random.Random(8)
    starts = [
        datetime.date(2025, 1, 1),
        datetime.date(2024, 2, 28),  # a leap day within the first days
        datetime.date(1, 1, 1),
        datetime.date(9999, 12, 1),  # days past 9999-12-31 do not exist
        *(datetime.date.fromordinal(rng.randrange(1, 3_000_000)) for _ in range(20)),
    ]
    days = [0, 1, 59, 365, 366, 367, 731, 5_000, 40_000]
    cases = [(start, day) for start in starts for day in days]
    # and in a shuffled order, so blocks are filled from the middle as well
    cases += [(rng.choice(starts), rng.randrange(0, 2_000)) for _ in range(2_000)]
    rng.shuffle(cases)
    return cases


def _outcome(function, *args):
    try:
        return function(*args)
    except (ValueError, OverflowError) as error:
        return type(error)


@pytest.mark.parametrize("seen", [False, True], ids=["fresh", "filled"])
def test_calendar_and_clock_text_match_the_day_by_day_code(seen: bool) -> None:
    cases = _cases()
    if seen:  # every day asked for once already: the answers now come from the tables
        for start, day in cases:
            _outcome(calendar_for_day, day, start)
            _outcome(_DAY_TEXTS.get, start, day)
    for start, day in cases:
        assert _outcome(calendar_for_day, day, start) == _outcome(_old_calendar, day, start)
        assert _outcome(_DAY_TEXTS.get, start, day) == _outcome(_old_day_text, start, day)


def test_a_refused_day_raises_every_time_and_is_not_remembered() -> None:
    start = datetime.date(2025, 1, 1)
    for _ in range(2):
        with pytest.raises(ValueError, match="day_index >= 0, got -1"):
            calendar_for_day(-1, start)
    last = datetime.date.max - start
    assert calendar_for_day(last.days, start).date == datetime.date.max
    for _ in range(2):
        with pytest.raises(OverflowError):
            calendar_for_day(last.days + 1, start)


def test_a_table_computes_each_day_once_a_block_at_a_time(monkeypatch) -> None:
    asked: list[int] = []

    def compute(start: datetime.date, day: int) -> int:
        asked.append(day)
        return start.toordinal() + day

    table = DayTable(compute, block_days=10)
    start = datetime.date(2025, 1, 1)
    assert [table.get(start, day) for day in range(25)] == [
        start.toordinal() + d for d in range(25)
    ]
    assert asked == list(range(30))
    # a full table starts afresh rather than growing without end
    monkeypatch.setattr(day_table, "KEPT_ENTRIES", 30)
    assert table.get(start, 100) == start.toordinal() + 100
    assert asked[30:] == list(range(100, 110))
    assert table.get(start, 3) == start.toordinal() + 3
    assert asked[40:] == list(range(3, 13))


@pytest.mark.parametrize("table_name", ["calendar", "clock text", "weather"])
def test_no_lookup_of_the_nights_tables_computes_more_than_a_small_block(
    monkeypatch, table_name: str
) -> None:
    """A block of a year (or 64 days of weather) was one night's work among 365 cheap
    ones, the Year's slowest steps: a lookup now computes at most `BLOCK_DAYS` days, and
    a walk through two years asks each day once, with the values of the day-by-day code."""
    from tycoon.envs.vending import demand, overnight, world

    table, key, old = {
        "calendar": (demand._CALENDAR, datetime.date(2031, 5, 17), _old_calendar_by_start),
        "clock text": (world._DAY_TEXTS, datetime.date(2031, 5, 17), _old_day_text),
        "weather": (
            overnight._WEATHER,
            (987_654, datetime.date(2031, 5, 17)),
            lambda key, day: overnight.day_weather(key, day),
        ),
    }[table_name]
    asked: list[int] = []
    compute = table._compute

    def counted(start, day):
        asked.append(day)
        return compute(start, day)

    monkeypatch.setattr(table, "_compute", counted)
    monkeypatch.setattr(table, "_values", {})  # as in a fresh process
    assert day_table.BLOCK_DAYS <= 8
    for day in [*range(0, 731), 400, 5]:  # resumed and forked episodes ask for past days
        before = len(asked)
        assert table.get(key, day) == old(key, day), day
        assert len(asked) - before <= day_table.BLOCK_DAYS
    assert sorted(asked) == list(range(0, 731 + day_table.BLOCK_DAYS - 731 % day_table.BLOCK_DAYS))


def _old_calendar_by_start(start: datetime.date, day: int) -> CalendarDay:
    return _old_calendar(day, start)
