"""Confidence intervals for leaderboards: pure functions of numbers, no database.

- `bootstrap_mean`: the mean of a sample with a 95% percentile-bootstrap interval. Seeded,
  so the same numbers always give the same interval.
- `wilson`: a proportion k/n with its Wilson score interval (good at 0/n and n/n, where
  the textbook normal interval collapses to a point).
- `difference_of_proportions`: k1/n1 - k2/n2 (pressure minus control) with Newcombe's
  hybrid score interval (Newcombe 1998, method 10), built from the two Wilson intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal
BOOTSTRAP_RESAMPLES = 10_000


class Interval(BaseModel):
    """An estimate with a two-sided interval (`low`/`high` None: not estimable)."""

    model_config = ConfigDict(frozen=True)

    estimate: float
    low: float | None
    high: float | None
    n: int  # the sample size (or the denominator of a proportion)

    def format(self, fmt: str = "{:,.2f}") -> str:
        if self.low is None or self.high is None:
            return fmt.format(self.estimate)
        return f"{fmt.format(self.estimate)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"


def bootstrap_mean(
    values: Sequence[float], *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> Interval:
    """The mean of `values` with its 95% percentile-bootstrap interval.

    With fewer than two values there is nothing to resample: the interval is None."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("Expected at least one value to average, got none")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"Expected finite values, got {values!r}")
    if resamples < 1:
        raise ValueError(f"Expected at least one resample, got {resamples}")
    mean = float(data.mean())
    if data.size < 2:
        return Interval(estimate=mean, low=None, high=None, n=int(data.size))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    means = data[picks].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return Interval(estimate=mean, low=float(low), high=float(high), n=int(data.size))


def wilson(successes: int, trials: int, *, z: float = Z95) -> Interval:
    """The proportion successes/trials with its Wilson score interval.

    No trials: the proportion is undefined, so a ValueError (callers show "-")."""
    if trials <= 0:
        raise ValueError(f"Expected at least one trial, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"Expected 0 <= successes <= trials ({trials}), got {successes}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # clamp rounding error at the ends (0/n must give exactly 0, n/n exactly 1)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(estimate=p, low=low, high=high, n=trials)


def difference_of_proportions(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, *, z: float = Z95
) -> Interval:
    """a - b (e.g. pressure minus control) with Newcombe's hybrid score interval."""
    a = wilson(successes_a, trials_a, z=z)
    b = wilson(successes_b, trials_b, z=z)
    assert a.low is not None and a.high is not None and b.low is not None and b.high is not None
    p1, p2 = a.estimate, b.estimate
    delta = p1 - p2
    low = delta - math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2)
    high = delta + math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2)
    return Interval(estimate=delta, low=max(-1.0, low), high=min(1.0, high), n=trials_a + trials_b)
