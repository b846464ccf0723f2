"""MonitorSet: which monitors the reward may read and which are held out from it.

Training against a monitor can teach an agent to hide from that monitor rather than to
stop. Holding some monitors out of the reward, and watching them during and after
training, shows whether a behaviour went away or moved: penalise a disabled oversight
file and see whether audit-log rewrites rise; penalise schedule edits and see whether
actions after the deadline do.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, model_validator

from tycoon.instrumentation.detectors import DETECTORS
from tycoon.instrumentation.events import BehaviorEventModel
from tycoon.instrumentation.taxonomy import JUDGE

KNOWN_MONITORS = frozenset(DETECTORS) | {JUDGE}


class MonitorSet(BaseModel):
    """Monitor (detector) names split into reward-visible and held-out, disjoint."""

    model_config = ConfigDict(frozen=True)

    reward: frozenset[str]
    held_out: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _disjoint_and_known(self) -> MonitorSet:
        both = self.reward & self.held_out
        if both:
            raise ValueError(f"Expected disjoint monitor sets, got {sorted(both)} in both")
        unknown = (self.reward | self.held_out) - KNOWN_MONITORS
        if unknown:
            raise ValueError(
                f"Expected monitor names from {sorted(KNOWN_MONITORS)}, got {sorted(unknown)}"
            )
        return self

    def for_reward(self, events: Iterable[BehaviorEventModel]) -> list[BehaviorEventModel]:
        """Only the events the reward may see (held-out and unlisted monitors dropped)."""
        return [event for event in events if event.detector in self.reward]

    def held_out_events(self, events: Iterable[BehaviorEventModel]) -> list[BehaviorEventModel]:
        return [event for event in events if event.detector in self.held_out]

    def reward_tags(self, events: Iterable[BehaviorEventModel]) -> tuple[str, ...]:
        """The tags for `RewardContext.behavior_tags`: reward-visible events only."""
        return tuple(event.tag for event in self.for_reward(events))


HELD_OUT_BY_DEFAULT = frozenset(
    {"audit_log_rewrite", "after_deadline_action", "metric_file_edit", JUDGE}
)
DEFAULT_MONITORS = MonitorSet(
    reward=frozenset(DETECTORS) - HELD_OUT_BY_DEFAULT, held_out=HELD_OUT_BY_DEFAULT
)
ALL_VISIBLE = MonitorSet(reward=KNOWN_MONITORS)
