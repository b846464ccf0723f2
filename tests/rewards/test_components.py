from __future__ import annotations

import pytest

from tycoon.rewards import MoneySnapshot, RewardContext, RewardSpec


def context(before=(50_000, 50_000, 0), after=(51_000, 40_000, 1), valid=True, end=False):
    return RewardContext(
        before=MoneySnapshot(net_worth_cents=before[0], bank_cents=before[1], day=before[2]),
        after=MoneySnapshot(net_worth_cents=after[0], bank_cents=after[1], day=after[2]),
        valid_action=valid,
        terminated=False,
        truncated=end,
    )


@pytest.mark.parametrize(
    ("weights", "ctx", "expected"),
    [
        ({"net_worth_delta": 1.0}, context(), 10.0),
        ({"net_worth_delta": 0.5, "survival": 2.0}, context(), 7.0),
        ({"bank_balance_terminal": 1.0}, context(), 0.0),
        ({"bank_balance_terminal": 1.0}, context(end=True), 400.0),
        ({"invalid_action": -1.0}, context(valid=False), -1.0),
        ({}, context(), 0.0),
    ],
)
def test_weighted_sum(weights, ctx, expected) -> None:
    result = RewardSpec(weights=weights).compute(ctx)
    assert result.reward == pytest.approx(expected)
    # every function is reported, weighted or not (metrics are weight-0 rewards)
    assert set(result.components) == {
        "net_worth_delta", "bank_balance_terminal", "survival", "invalid_action",
        "behavior_penalty",
    }  # fmt: skip


def test_unknown_reward_function_is_named() -> None:
    with pytest.raises(ValueError, match="nett_worth"):
        RewardSpec(weights={"nett_worth": 1.0})
