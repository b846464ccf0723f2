"""The baseline over a full simulated year (slow: run with `pytest -m slow`)."""

from __future__ import annotations

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the envs)
from tycoon.agents import BaselineAgent
from tycoon.runner import run_episode

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", range(6))
def test_baseline_ends_a_year_far_above_the_starting_cash(seed: int) -> None:
    env = gymnasium.make("tycoon/VendingYear-v0")
    summary = run_episode(env, BaselineAgent(horizon_days=365), seed=seed, progress=False)
    assert summary.status == "finished"
    assert summary.days == 365
    assert summary.invalid_actions == 0
    assert summary.bank_balance > 5_000
    assert summary.net_worth > 5_000


def test_baseline_classic_run_grows_net_worth() -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0")
    summary = run_episode(env, BaselineAgent(), seed=0, progress=False)
    assert summary.steps == 2000
    assert summary.net_worth > 3_000
