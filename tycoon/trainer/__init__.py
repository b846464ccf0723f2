"""tycoon.trainer: rollouts for RL trainers (see `tycoon.trainer.api`)."""

from tycoon.trainer.api import (
    Policy,
    RolloutEngine,
    RolloutSpec,
    arun_rollouts,
    run_rollouts,
)
from tycoon.trainer.trajectory import ModelCall, TokenSpan, Trajectory, token_spans

__all__ = [
    "ModelCall",
    "Policy",
    "RolloutEngine",
    "RolloutSpec",
    "TokenSpan",
    "Trajectory",
    "arun_rollouts",
    "run_rollouts",
    "token_spans",
]
