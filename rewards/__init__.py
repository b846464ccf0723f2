"""tycoon.rewards: small pure reward functions, composed with weights.

A metric is a reward function with weight 0: it is computed and reported in
`info["reward_components"]` like every other component but adds nothing to the reward.
"""

from tycoon.rewards.components import (
    REWARD_FUNCTIONS,
    MoneySnapshot,
    RewardContext,
    RewardResult,
    RewardSpec,
    bank_balance_terminal,
    invalid_action,
    net_worth_delta,
    survival,
)

__all__ = [
    "REWARD_FUNCTIONS",
    "MoneySnapshot",
    "RewardContext",
    "RewardResult",
    "RewardSpec",
    "bank_balance_terminal",
    "invalid_action",
    "net_worth_delta",
    "survival",
]
