"""Per-day values of an episode's calendar, worked out a block of days at a time.

A night asks for its date's weekday and month (`demand.calendar_for_day`) and the clock's
text (`VendingWorld.clock_text`) once per day, each time for a new day, on caches that the
day's ~10 agent steps have made cold: the date arithmetic and `strftime` cost ~6 and ~12 us
there, against ~1 us in a loop. A `DayTable` computes the next `block_days` days in one
loop on the first miss, so a night only looks its day up. The values are those of the same
function called day by day; a day the function refuses (a negative index, a date past
9999-12-31) is computed alone, so it raises what it raised before.

The block is small (`BLOCK_DAYS`, a week and a day): its first day pays the cold caches
once and the rest run warm, which is most of the saving; a block of a year (366 calendar
days, 0.5-0.8 ms; 64 days of weather, 0.3-7 ms) was one night's work among 365 cheap ones,
the Year's slowest steps after its first and last.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Start = TypeVar("Start", bound=Hashable)
Value = TypeVar("Value")

BLOCK_DAYS = 8
# past this many entries the table starts afresh (a process running many start dates)
KEPT_ENTRIES = 100_000


class DayTable(Generic[Start, Value]):
    """`compute(start, day)` remembered per (start, day), filled a block at a time; `start`
    is what fixes an episode's days (its start date, or its seed and start date)."""

    __slots__ = ("_block_days", "_compute", "_values")

    def __init__(
        self, compute: Callable[[Start, int], Value], block_days: int = BLOCK_DAYS
    ) -> None:
        self._compute = compute
        self._block_days = block_days
        self._values: dict[tuple[Start, int], Value] = {}

    def get(self, start: Start, day: int) -> Value:
        value = self._values.get((start, day))
        if value is None:
            value = self._fill(start, day)
        return value

    def _fill(self, start: Start, day: int) -> Value:
        value = self._compute(start, day)  # raises for a day it refuses, caching nothing
        values = self._values
        if len(values) >= KEPT_ENTRIES:
            values.clear()
        values[(start, day)] = value
        for later in range(day + 1, day + self._block_days):
            try:
                values[(start, later)] = self._compute(start, later)
            except (OverflowError, ValueError):
                break  # past the last date there is: those days raise when asked for
        return value
