"""What every operator of a market saw, rebuilt from its step rows (for resuming a market).

A seat's view (observation and info) changes when it acts, but also when another seat's
step moves it: the night another operator started, a payment into its account. Those
changes are in no step row of the seat itself, so the acting seat's step row carries
them, in the same transaction, under `info["arena"]` (`ViewRecord`): the market step it
was, the new views of the other seats whose view changed, the observation the actor was
shown where it differs from the one stored, and, under the parallel skin, the round of
the step and the order of the seats the round asked.

`market_views` replays those records in market order and gives, per seat, an
`AgentHistory` whose views are the ones its agent decided on (under the parallel skin:
the view at the start of the round, when all seats were asked at once), ending with the
view it acts on next, and the seats still owed an action in a round the kill cut short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tycoon.agents.base import AgentHistory, RecordedView
from tycoon.envs.world.schema import Episode, Step

VIEW_KEY = "arena"
View = tuple[str, dict[str, Any]]


def public_info(info: dict[str, Any]) -> dict[str, Any]:
    """The info the agent was given: the stored one without the market's record."""
    return {key: value for key, value in info.items() if key != VIEW_KEY}


@dataclass
class MarketViews:
    histories: list[AgentHistory]  # per seat: the views its agent decided on, then its next
    current: list[View]  # per seat: the view it acts on next
    round: int  # the last round recorded (-1 when none)
    owed: list[int]  # seats the last round asked whose action was never applied, in order


@dataclass
class _Row:
    seat: int
    action: str
    observation: str
    info: dict[str, Any]
    record: dict[str, Any]


def market_views(session: Session, episode_ids: list[int]) -> MarketViews:
    views: list[View] = []
    rows: list[_Row] = []
    for seat, episode_id in enumerate(episode_ids):
        # columns, not the ORM object: the session may hold it from before they were written
        reset_observation, reset_info = session.execute(
            select(Episode.reset_observation, Episode.reset_info).where(Episode.id == episode_id)
        ).one()
        views.append((reset_observation or "", dict(reset_info or {})))
        for action, observation, info in session.execute(
            select(Step.action, Step.observation, Step.info)
            .where(Step.episode_id == episode_id)
            .order_by(Step.id)
        ):
            info = info or {}
            rows.append(_Row(seat, action, observation, public_info(info), info.get(VIEW_KEY, {})))
    rows.sort(key=lambda row: row.record.get("step", 0))
    seen: list[list[View]] = [[] for _ in episode_ids]
    actions: list[list[str]] = [[] for _ in episode_ids]
    round_number, order, acted = -1, [], set()
    round_start = list(views)
    for row in rows:
        if "round" in row.record and row.record["round"] != round_number:
            round_number, order, acted = row.record["round"], row.record["order"], set()
            round_start = list(views)
        seen[row.seat].append(round_start[row.seat] if "round" in row.record else views[row.seat])
        actions[row.seat].append(row.action)
        acted.add(row.seat)
        views[row.seat] = (row.record.get("observation", row.observation), row.info)
        for other, (observation, info) in row.record.get("views", {}).items():
            views[int(other)] = (observation, info)
    owed = _owed(order, acted)
    current = [round_start[seat] if seat in owed else views[seat] for seat in range(len(views))]
    histories = []
    for seat in range(len(episode_ids)):
        shown = [*seen[seat], current[seat]]
        steps = [
            RecordedView(action, observation, info)
            for action, (observation, info) in zip(actions[seat], shown[1:], strict=True)
        ]
        histories.append(AgentHistory(shown[0][0], shown[0][1], steps))
    return MarketViews(histories, current, round_number, owed)


def _owed(order: list[int], acted: set[int]) -> list[int]:
    """The seats after the round's last actor (the round applies its seats in order)."""
    last = max((order.index(seat) for seat in acted if seat in order), default=-1)
    return [seat for seat in order[last + 1 :]] if acted else []


__all__ = ["VIEW_KEY", "MarketViews", "market_views", "public_info"]
