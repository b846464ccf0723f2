"""Everything the episode viewer shows, read from the database into plain models.

The transcript (each step's action, result and validity, with the LLM calls that led to
it: model text, parse status, retries, tokens), a day-by-day money series, the
behaviour events and the night reports (the results of `wait_for_next_day`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from tycoon.envs.world.schema import BehaviorEvent, Episode, LedgerEntry, LlmCall, Sale, Step
from tycoon.envs.world.store import WorldStore
from tycoon.episode_rows import load_episode_rows
from tycoon.summary import EpisodeSummary, summarise_episode

MACHINE_CASH = "machine_cash"
CARD_CLEARING = "card_clearing"  # card sales waiting to settle: cash, not stock
NIGHT_TOOL = "wait_for_next_day"


def shown_day(day: int) -> int:
    """The day as the env shows it to the agent ("Day 1" is day index 0)."""
    return day + 1


class CallView(BaseModel):
    """One model call: what the model said and how its reply was read."""

    id: int
    text: str  # the model's own text (content), if any
    reasoning: str
    parse_status: str
    finish_reason: str | None
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


class StepView(BaseModel):
    id: int
    day: int  # as shown
    time: str
    tool: str
    arguments: Any
    action: str  # the raw action when it is not a JSON tool call
    valid: bool
    error: str | None
    observation: str
    reward: float
    net_worth: float
    bank: float
    calls: list[CallView] = []


class EventView(BaseModel):
    step: int
    day: int  # as shown
    tag: str
    detector: str
    magnitude: float
    evidence: str
    judge_reasoning: str  # the judge's reasoning, when the judge raised the event


class DayPoint(BaseModel):
    day: int  # as shown
    bank: float
    net_worth: float
    machine_cash: float
    units_sold: int
    stock_value: float  # net worth less the cash accounts: goods at cost


class EpisodeView(BaseModel):
    summary: EpisodeSummary
    score_kind: str
    steps: list[StepView]
    days: list[DayPoint]
    events: list[EventView]
    pending_calls: list[CallView] = []  # calls after the last step (no step yet)


def load_episode_view(store: WorldStore, episode_id: int) -> EpisodeView:
    summary = summarise_episode(store, episode_id)  # raises StoreError for a bad id
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        assert episode is not None
        score_kind = str(episode.config.get("score", "net_worth"))
        rows = load_episode_rows(session, episode_id)
        steps, calls, events = rows.steps, rows.calls, rows.events
        units = dict(
            session.execute(
                select(Sale.day, func.sum(Sale.units))
                .where(Sale.episode_id == episode_id)
                .group_by(Sale.day)
            ).all()
        )
        machine_moves = session.execute(
            select(
                LedgerEntry.day,
                LedgerEntry.from_account,
                LedgerEntry.to_account,
                LedgerEntry.amount_cents,
            )
            .where(
                LedgerEntry.episode_id == episode_id,
                LedgerEntry.from_account.in_([MACHINE_CASH, CARD_CLEARING])
                | LedgerEntry.to_account.in_([MACHINE_CASH, CARD_CLEARING]),
            )
            .order_by(LedgerEntry.id)
        ).all()
    step_views, pending = _transcript(steps, calls)
    return EpisodeView(
        summary=summary,
        score_kind=score_kind,
        steps=step_views,
        days=_days(steps, units, machine_moves),
        events=[_event(e) for e in events],
        pending_calls=pending,
    )


def _transcript(steps: list[Step], calls: list[LlmCall]) -> tuple[list[StepView], list[CallView]]:
    """Steps with the calls that led to each: a call without a step (no tool call in the
    reply, a retry for a parse failure) belongs to the next step that has one."""
    by_step: dict[int, list[CallView]] = defaultdict(list)
    waiting: list[CallView] = []
    for call in calls:
        waiting.append(_call(call))
        if call.step is not None:
            by_step[call.step].extend(waiting)
            waiting = []
    return [_step(step, by_step.get(step.id, [])) for step in steps], waiting


def _step(step: Step, calls: list[CallView]) -> StepView:
    arguments: Any = None
    action = step.action
    try:
        parsed = json.loads(step.action)
        if isinstance(parsed, dict) and "arguments" in parsed:
            arguments, action = parsed["arguments"], ""
    except (TypeError, ValueError):
        pass
    return StepView(
        id=step.id,
        day=shown_day(step.day),
        time=f"{step.minute // 60:02d}:{step.minute % 60:02d}",
        tool=step.tool or "?",
        arguments=arguments,
        action=action,
        valid=step.valid,
        error=step.error,
        observation=step.observation,
        reward=step.reward,
        net_worth=step.net_worth_cents / 100,
        bank=step.bank_cents / 100,
        calls=calls,
    )


def _call(call: LlmCall) -> CallView:
    message = (call.reply or {}).get("received") or (call.reply or {}).get("message") or {}
    return CallView(
        id=call.id,
        text=str(message.get("content") or ""),
        reasoning=str(message.get("reasoning_content") or message.get("reasoning") or ""),
        parse_status=call.parse_status,
        finish_reason=call.finish_reason,
        attempts=call.attempts,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        latency_ms=call.latency_ms,
    )


def _event(event: BehaviorEvent) -> EventView:
    evidence, _, reasoning = event.evidence.partition(" | judge: ")
    return EventView(
        step=event.step,
        day=shown_day(event.day),
        tag=event.tag,
        detector=event.detector,
        magnitude=event.magnitude,
        evidence=evidence,
        judge_reasoning=reasoning,
    )


def _days(steps: list[Step], units: dict[int, Any], machine_moves: list[Any]) -> list[DayPoint]:
    """One point per day: money after the day's last step, sales of that day."""
    last: dict[int, Step] = {}
    for step in steps:
        last[step.day] = step
    if not last:
        return []
    change: dict[tuple[int, str], int] = defaultdict(int)
    for day, source, target, amount in machine_moves:
        change[day, target] += amount
        change[day, source] -= amount
    points, machine_cash, clearing = [], 0, 0
    for day in range(0, max(last) + 1):
        machine_cash += change.get((day, MACHINE_CASH), 0)
        clearing += change.get((day, CARD_CLEARING), 0)
        step = last.get(day)
        if step is None:
            continue
        points.append(
            DayPoint(
                day=shown_day(day),
                bank=step.bank_cents / 100,
                net_worth=step.net_worth_cents / 100,
                machine_cash=machine_cash / 100,
                units_sold=int(units.get(day, 0) or 0),
                stock_value=max(0, step.net_worth_cents - step.bank_cents - machine_cash - clearing)
                / 100,
            )
        )
    return points
