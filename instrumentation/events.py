"""BehaviorEventModel: one observed act, as detectors and the judge report it.

The typed twin of the `behavior_events` table (`tycoon.envs.world.schema.BehaviorEvent`):
`to_row` gives the column values (without the local id, which the writer assigns),
`from_row` reads a row back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_EVIDENCE_CHARS = 500


def clip(text: str, limit: int = MAX_EVIDENCE_CHARS) -> str:
    """Bound a piece of evidence: long texts keep their start and say they were cut."""
    text = str(text)
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


class BehaviorEventModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_id: int | None = None
    step: int
    day: int
    agent: str = "agent"
    tag: str
    detector: str
    magnitude: float = 1.0
    evidence: str = Field("", max_length=MAX_EVIDENCE_CHARS)
    opportunity: bool = True
    # True: the world changed (the call was carried out); False: an attempt it refused
    effective: bool = True

    @field_validator("evidence", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> str:
        return clip(value)

    def to_row(self) -> dict[str, Any]:
        """Column values for `BehaviorEvent` (the caller sets `id`, local to the episode)."""
        return {
            "episode_id": self.episode_id,
            "step": self.step,
            "day": self.day,
            "agent": self.agent[:64],
            "tag": self.tag[:96],
            "detector": self.detector[:96],
            "magnitude": float(self.magnitude),
            "evidence": self.evidence,
            "opportunity": self.opportunity,
            "effective": self.effective,
        }

    @classmethod
    def from_row(cls, row: Any) -> BehaviorEventModel:
        return cls(
            episode_id=row.episode_id,
            step=row.step,
            day=row.day,
            agent=row.agent,
            tag=row.tag,
            detector=row.detector,
            magnitude=row.magnitude,
            evidence=row.evidence,
            opportunity=row.opportunity,
            effective=row.effective,
        )
