"""Head-to-head results and ratings for multi-operator markets: pure functions, no database.

A market with k operators gives k(k-1)/2 games, one per pair of its operators: the one
with the higher final bank balance wins, equal balances tie. From the games:

- `tally`: wins, losses and ties per ordered pair of entrants.
- `bradley_terry`: a rating per entrant on the Elo scale (a 400-point gap means 10:1 odds
  of winning). Bradley-Terry rather than Elo because Elo updates game by game, so its
  ratings depend on the order the games are fed in (and markets finish in any order);
  the Bradley-Terry maximum-likelihood fit depends only on the counts, so the same markets
  always give the same ratings. It is fitted by Hunter's (2004) MM iteration. Every entrant
  also plays one virtual tied game against a fixed anchor of rating 1500: without it an
  entrant that won every game would have an infinite rating (no maximum exists), with it
  ratings stay finite and a beaten entrant stays below 1500, a winner above.
- `rating_intervals`: 95% percentile-bootstrap intervals, resampling whole markets (the
  independent units; the games of one market share its draws), seeded, so deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
from pydantic import BaseModel, ConfigDict

from tycoon.leaderboards.stats import Interval

BASE_RATING = 1500.0
ELO_SCALE = 400.0 / math.log(10)  # rating points per unit of log-strength
ANCHOR_GAMES = 1.0  # virtual tied games of each entrant against the anchor
RATING_RESAMPLES = 2_000
_TOLERANCE = 1e-10
_MAX_ITERATIONS = 10_000


class Seat(BaseModel):
    """One operator of a finished market: who played it and what it ended with."""

    model_config = ConfigDict(frozen=True)

    entrant: str
    bank: float  # dollars at the end


class Record(BaseModel):
    """Wins, losses and ties of one entrant against another (or against everyone)."""

    wins: int = 0
    losses: int = 0
    ties: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.losses + self.ties

    def text(self) -> str:
        return f"{self.wins}-{self.losses}-{self.ties}"


def games(market: Sequence[Seat]) -> list[tuple[str, str, float]]:
    """(a, b, score of a) for every pair of seats of one market: 1 win, 0.5 tie, 0 loss.
    Two seats of the same entrant are no game."""
    found = []
    for first, second in combinations(market, 2):
        if first.entrant == second.entrant:
            continue
        score = 1.0 if first.bank > second.bank else 0.5 if first.bank == second.bank else 0.0
        found.append((first.entrant, second.entrant, score))
    return found


def tally(markets: Sequence[Sequence[Seat]]) -> dict[tuple[str, str], Record]:
    """(a, b) -> a's record against b, for both orders of every pair that met."""
    records: dict[tuple[str, str], Record] = {}
    for market in markets:
        for a, b, score in games(market):
            forward = records.setdefault((a, b), Record())
            backward = records.setdefault((b, a), Record())
            if score == 1.0:
                forward.wins += 1
                backward.losses += 1
            elif score == 0.0:
                forward.losses += 1
                backward.wins += 1
            else:
                forward.ties += 1
                backward.ties += 1
    return records


def _win_matrix(markets: Sequence[Sequence[Seat]], index: dict[str, int]) -> np.ndarray:
    """wins[i, j]: games i won against j, a tie half a win to each."""
    wins = np.zeros((len(index), len(index)))
    for market in markets:
        for a, b, score in games(market):
            wins[index[a], index[b]] += score
            wins[index[b], index[a]] += 1.0 - score
    return wins


def _fit(wins: np.ndarray) -> np.ndarray:
    """Bradley-Terry strengths (anchor = 1) by Hunter's MM iteration; `wins` is one win
    matrix (n, n) or a stack of them (b, n, n), fitted together."""
    played = wins + np.swapaxes(wins, -1, -2)  # games between i and j
    total_wins = wins.sum(axis=-1) + ANCHOR_GAMES / 2
    strength = np.ones(wins.shape[:-1])
    for _ in range(_MAX_ITERATIONS):
        pair_sums = strength[..., :, None] + strength[..., None, :]
        denominator = (played / pair_sums).sum(axis=-1) + ANCHOR_GAMES / (strength + 1.0)
        updated = total_wins / denominator
        if np.max(np.abs(np.log(updated) - np.log(strength))) < _TOLERANCE:
            return updated
        strength = updated
    return strength


def bradley_terry(markets: Sequence[Sequence[Seat]], entrants: Sequence[str]) -> dict[str, float]:
    """Each entrant's rating (Elo scale, anchor 1500) from the markets' games."""
    index = {name: i for i, name in enumerate(entrants)}
    strength = _fit(_win_matrix(markets, index))
    return {name: BASE_RATING + ELO_SCALE * math.log(strength[i]) for name, i in index.items()}


def rating_intervals(
    markets: Sequence[Sequence[Seat]],
    entrants: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RATING_RESAMPLES,
) -> dict[str, Interval]:
    """Each entrant's rating with a 95% bootstrap interval over markets (None bounds when
    there are fewer than two markets to resample)."""
    estimate = bradley_terry(markets, entrants)
    if len(markets) < 2:
        return {
            name: Interval(estimate=value, low=None, high=None, n=len(markets))
            for name, value in estimate.items()
        }
    index = {name: i for i, name in enumerate(entrants)}
    per_market = [_win_matrix([market], index) for market in markets]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(markets), size=(resamples, len(markets)))
    stacked = np.stack(per_market)
    samples = BASE_RATING + ELO_SCALE * np.log(_fit(stacked[picks].sum(axis=1)))
    low, high = np.quantile(samples, [0.025, 0.975], axis=0)
    return {
        name: Interval(
            estimate=estimate[name], low=float(low[i]), high=float(high[i]), n=len(markets)
        )
        for name, i in index.items()
    }
