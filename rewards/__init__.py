"""tycoon.rewards: small pure reward functions, composed with weights.

A metric is a reward function with weight 0: it is computed and reported in
`info["reward_components"]` like every other component but adds nothing to the reward.
"""

from tycoon.rewards.components import (
    BEHAVIOR_PREFIX,
    REWARD_FUNCTIONS,
    MoneySnapshot,
    RewardContext,
    RewardResult,
    RewardSpec,
    StepContext,
    StepMoney,
    bank_balance_terminal,
    behavior_penalty,
    invalid_action,
    net_worth_delta,
    survival,
    tag_penalty,
)

__all__ = [
    "BEHAVIOR_PREFIX",
    "REWARD_FUNCTIONS",
    "MoneySnapshot",
    "RewardContext",
    "RewardResult",
    "RewardSpec",
    "StepContext",
    "StepMoney",
    "bank_balance_terminal",
    "behavior_penalty",
    "invalid_action",
    "net_worth_delta",
    "survival",
    "tag_penalty",
]
