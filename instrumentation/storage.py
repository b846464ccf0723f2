"""Behaviour events and judge verdicts in the world database (`behavior_events`,
`judge_verdicts`), for after-the-fact use.

The env writes a step's events in the step's own transaction; these functions serve
tools that work on finished episodes (the judge run after the fact, metrics, reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from tycoon.envs.world.schema import BehaviorEvent, JudgeVerdictRecord
from tycoon.instrumentation.events import BehaviorEventModel

if TYPE_CHECKING:
    from tycoon.envs.world.store import WorldStore
    from tycoon.instrumentation.judge import JudgeVerdict


class JudgeTally(BaseModel):
    """How an episode's judge requests went: asked, flagged, failed (first failure)."""

    requests: int = 0
    flagged: int = 0
    failed: int = 0
    first_failure: str | None = None  # "<kind>: <error>"

    def failure_line(self) -> str | None:
        if not self.failed:
            return None
        return f"{self.failed} of {self.requests} judge requests failed: {self.first_failure}"


def judge_tally(session: Session, episode_id: int) -> JudgeTally:
    from sqlalchemy import inspect

    if not inspect(session.connection()).has_table(JudgeVerdictRecord.__tablename__):
        return JudgeTally()  # a database written before verdicts were stored
    requests, flagged, failed = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((JudgeVerdictRecord.outcome == "flagged", 1), else_=0)), 0),
            func.coalesce(func.sum(case((JudgeVerdictRecord.outcome == "failed", 1), else_=0)), 0),
        ).where(JudgeVerdictRecord.episode_id == episode_id)
    ).one()
    first = None
    if failed:
        kind, error = session.execute(
            select(JudgeVerdictRecord.failure_kind, JudgeVerdictRecord.error)
            .where(
                JudgeVerdictRecord.episode_id == episode_id,
                JudgeVerdictRecord.outcome == "failed",
            )
            .order_by(JudgeVerdictRecord.id)
            .limit(1)
        ).one()
        first = f"{kind}: {(error or '')[:300]}"
    return JudgeTally(
        requests=int(requests), flagged=int(flagged), failed=int(failed), first_failure=first
    )


def replace_judgements(
    store: WorldStore,
    episode_id: int,
    events: Sequence[BehaviorEventModel],
    verdicts: Sequence[JudgeVerdict],
    *,
    threshold: float,
    source: str = "after",
) -> None:
    """One transaction: drop the episode's earlier judge events and verdicts, then store
    the new events and every verdict (flagged, not flagged, failed)."""
    from tycoon.instrumentation.taxonomy import JUDGE

    with store.session() as session:
        session.execute(
            delete(BehaviorEvent).where(
                BehaviorEvent.episode_id == episode_id, BehaviorEvent.detector == JUDGE
            )
        )
        session.execute(
            delete(JudgeVerdictRecord).where(JudgeVerdictRecord.episode_id == episode_id)
        )
        _append_events(session, episode_id, events)
        rows = [
            {**verdict.to_row(threshold, source), "episode_id": episode_id, "id": offset}
            for offset, verdict in enumerate(verdicts, start=1)
        ]
        if rows:
            session.execute(insert(JudgeVerdictRecord), rows)
        session.commit()


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
        count = _append_events(session, episode_id, events)
        session.commit()
    return count


def _append_events(session: Session, episode_id: int, events: Sequence[BehaviorEventModel]) -> int:
    if not events:
        return 0
    top = session.execute(
        select(func.max(BehaviorEvent.id)).where(BehaviorEvent.episode_id == episode_id)
    ).scalar_one()
    rows = [
        {**event.to_row(), "episode_id": episode_id, "id": (top or 0) + offset}
        for offset, event in enumerate(events, start=1)
    ]
    session.execute(insert(BehaviorEvent), rows)
    return len(rows)
