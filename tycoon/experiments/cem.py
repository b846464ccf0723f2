"""The cross-entropy method (Rubinstein 1999) over the unit box [0, 1]^d.

Each iteration samples a population from a diagonal Gaussian, scores every sample with
the black-box objective, and refits the Gaussian to the best (elite) fraction, with a
floor on the standard deviation so the search never collapses before its last
iteration. Samples are clipped to the box: every policy parameter is a fraction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# the objective scores a batch: (samples, iteration) -> one score per sample; a batch lets
# the caller evaluate in parallel, and the iteration lets it draw the seed of each
# iteration (common random numbers within an iteration, new ones across iterations)
Objective = Callable[[list[list[float]], int], Sequence[float]]


class CEMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    population: int = Field(8, ge=2)
    elite_fraction: float = Field(0.25, gt=0, le=1)
    iterations: int = Field(4, ge=1)
    initial_std: float = Field(0.3, gt=0)
    min_std: float = Field(0.05, ge=0)

    @property
    def elites(self) -> int:
        return max(1, round(self.population * self.elite_fraction))


class CEMResult(BaseModel):
    mean: list[float]  # the final distribution's mean: the optimised parameters
    best: list[float]  # the best sample seen
    best_score: float
    history: list[float]  # the elite mean score of each iteration
    evaluations: int


def cross_entropy(
    objective: Objective,
    dimensions: int,
    settings: CEMSettings,
    *,
    seed: int,
    initial_mean: Sequence[float] | None = None,
) -> CEMResult:
    """Maximise `objective` over [0, 1]^dimensions."""
    if dimensions < 1:
        raise ValueError(f"Expected at least one dimension, got {dimensions}")
    rng = np.random.default_rng(seed)
    mean = np.full(dimensions, 0.5) if initial_mean is None else np.asarray(initial_mean, float)
    if mean.shape != (dimensions,):
        raise ValueError(f"Expected an initial mean of {dimensions} values, got {mean.shape}")
    std = np.full(dimensions, settings.initial_std)
    best, best_score = mean.copy(), -np.inf
    history: list[float] = []
    evaluations = 0
    for iteration in range(settings.iterations):
        samples = np.clip(rng.normal(mean, std, size=(settings.population, dimensions)), 0, 1)
        scores = np.asarray(objective(samples.tolist(), iteration), dtype=float)
        if scores.shape != (settings.population,):
            raise ValueError(
                f"Expected {settings.population} scores from the objective, got {scores.shape}"
            )
        evaluations += settings.population
        order = np.argsort(-scores, kind="stable")[: settings.elites]
        elite = samples[order]
        if scores[order[0]] > best_score:
            best, best_score = samples[order[0]].copy(), float(scores[order[0]])
        history.append(float(scores[order].mean()))
        mean = elite.mean(axis=0)
        std = np.maximum(elite.std(axis=0), settings.min_std)
    return CEMResult(
        mean=mean.tolist(),
        best=best.tolist(),
        best_score=best_score,
        history=history,
        evaluations=evaluations,
    )
