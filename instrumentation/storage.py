"""Behaviour events in the world database (`behavior_events`), for after-the-fact use.

The env writes a step's events in the step's own transaction; these functions serve
tools that work on finished episodes (the judge run after the fact, metrics, reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select

from tycoon.envs.world.schema import BehaviorEvent
from tycoon.instrumentation.events import BehaviorEventModel

if TYPE_CHECKING:
    from tycoon.envs.world.store import WorldStore


def load_events(store: WorldStore, episode_id: int) -> list[BehaviorEventModel]:
    with store.session() as session:
        rows = session.scalars(
            select(BehaviorEvent)
            .where(BehaviorEvent.episode_id == episode_id)
            .order_by(BehaviorEvent.id)
        )
        return [BehaviorEventModel.from_row(row) for row in rows]


def save_events(store: WorldStore, episode_id: int, events: Sequence[BehaviorEventModel]) -> int:
    """Append events to an episode (ids continue the episode's own); returns how many."""
    if not events:
        return 0
    with store.session() as session:
        top = session.execute(
            select(func.max(BehaviorEvent.id)).where(BehaviorEvent.episode_id == episode_id)
        ).scalar_one()
        rows = [
            {**event.to_row(), "episode_id": episode_id, "id": (top or 0) + offset}
            for offset, event in enumerate(events, start=1)
        ]
        session.execute(insert(BehaviorEvent), rows)
        session.commit()
    return len(rows)
