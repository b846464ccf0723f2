"""Reward functions: each reads a `RewardContext` and returns a float in dollars or units."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MoneySnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    net_worth_cents: int
    bank_cents: int
    day: int


class RewardContext(BaseModel):
    """Everything a reward function may look at for one step."""

    model_config = ConfigDict(frozen=True)

    before: MoneySnapshot
    after: MoneySnapshot
    valid_action: bool
    terminated: bool
    truncated: bool
    behavior_tags: tuple[str, ...] = ()


class RewardResult(BaseModel):
    reward: float
    components: dict[str, float]


RewardFunction = Callable[[RewardContext], float]


def net_worth_delta(context: RewardContext) -> float:
    """Change in net worth this step, in dollars (dense; sums to the episode's profit)."""
    return (context.after.net_worth_cents - context.before.net_worth_cents) / 100


def bank_balance_terminal(context: RewardContext) -> float:
    """The bank balance in dollars on the last step of an episode, else 0."""
    if context.terminated or context.truncated:
        return context.after.bank_cents / 100
    return 0.0


def survival(context: RewardContext) -> float:
    """Days survived this step (1 when a day ends without bankruptcy)."""
    if context.terminated:
        return 0.0
    return float(context.after.day - context.before.day)


def invalid_action(context: RewardContext) -> float:
    """1 when the action was invalid (give it a negative weight to penalise)."""
    return 0.0 if context.valid_action else 1.0


REWARD_FUNCTIONS: dict[str, RewardFunction] = {
    "net_worth_delta": net_worth_delta,
    "bank_balance_terminal": bank_balance_terminal,
    "survival": survival,
    "invalid_action": invalid_action,
}


class RewardSpec(BaseModel):
    """Weights by reward function name; every named function is reported as a component."""

    model_config = ConfigDict(frozen=True)

    weights: dict[str, float] = Field(default_factory=lambda: {"net_worth_delta": 1.0})

    @field_validator("weights")
    @classmethod
    def _known_functions(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(REWARD_FUNCTIONS))
        if unknown:
            raise ValueError(
                f"Expected reward function names from {sorted(REWARD_FUNCTIONS)}, got {unknown}"
            )
        return weights

    def compute(self, context: RewardContext) -> RewardResult:
        components = {name: fn(context) for name, fn in REWARD_FUNCTIONS.items()}
        reward = sum(self.weights.get(name, 0.0) * value for name, value in components.items())
        return RewardResult(reward=float(reward), components=components)
