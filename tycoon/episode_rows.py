"""The rows an episode's readers share: its steps, model calls and behaviour events.

Export, the trajectory builder and the episode viewer each read these three lists in
step order; one loader keeps their order and filters the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tycoon.envs.world.schema import BehaviorEvent, LlmCall, Step


@dataclass
class EpisodeRows:
    steps: list[Step]
    calls: list[LlmCall]
    events: list[BehaviorEvent]


def load_episode_rows(session: Session, episode_id: int) -> EpisodeRows:
    """The episode's steps, model calls and events, each in the order they were written."""

    def rows(model: type[Step] | type[LlmCall] | type[BehaviorEvent]) -> list:
        query = select(model).where(model.episode_id == episode_id).order_by(model.id)
        return list(session.scalars(query))

    return EpisodeRows(steps=rows(Step), calls=rows(LlmCall), events=rows(BehaviorEvent))
