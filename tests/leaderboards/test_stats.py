"""The leaderboard statistics against published values."""

from __future__ import annotations

import numpy as np
import pytest

from tycoon.leaderboards.stats import bootstrap_mean, difference_of_proportions, wilson


# Wilson 95% intervals as tabulated by Newcombe (1998), Stat Med 17:857-872, table II
# (method 3), and in Agresti & Coull (1998) for 0/10 and 10/10.
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_intervals(k, n, low, high):
    interval = wilson(k, n)
    assert interval.estimate == pytest.approx(k / n)
    assert interval.low == pytest.approx(low, abs=6e-5)
    assert interval.high == pytest.approx(high, abs=6e-5)


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError, match="at least one trial"):
        wilson(0, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson(11, 10)
    with pytest.raises(ValueError, match="successes"):
        wilson(-1, 10)


# Newcombe (1998b), Stat Med 17:873-890, table II, method 10 (score, no continuity correction)
@pytest.mark.parametrize(
    ("a", "m", "b", "n", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0),
    ],
)
def test_difference_of_proportions_matches_newcombe(a, m, b, n, low, high):
    interval = difference_of_proportions(a, m, b, n)
    assert interval.estimate == pytest.approx(a / m - b / n)
    assert interval.low == pytest.approx(low, abs=6e-5)
    assert interval.high == pytest.approx(high, abs=6e-5)


def test_bootstrap_is_reproducible_and_seed_dependent():
    values = [12.0, 15.5, 9.0, 20.25, 14.0]
    first, again = bootstrap_mean(values, seed=3), bootstrap_mean(values, seed=3)
    assert first == again
    assert first.estimate == pytest.approx(np.mean(values))
    assert first.low < first.estimate < first.high
    assert bootstrap_mean(values, seed=4) != first


def test_bootstrap_of_a_large_sample_agrees_with_the_normal_interval():
    values = np.random.default_rng(0).normal(100.0, 10.0, size=400)
    interval = bootstrap_mean(list(values), seed=1)
    half = 1.96 * values.std(ddof=1) / np.sqrt(values.size)
    assert interval.low == pytest.approx(values.mean() - half, abs=0.15)
    assert interval.high == pytest.approx(values.mean() + half, abs=0.15)


def test_bootstrap_edges():
    assert bootstrap_mean([7.0, 7.0, 7.0]).low == 7.0 == bootstrap_mean([7.0, 7.0]).high
    single = bootstrap_mean([3.0])
    assert (single.estimate, single.low, single.high) == (3.0, None, None)
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean([1.0, float("nan")])
