"""ProbeState: what the probes remember between steps, persisted with the world.

One row of the `events` table (kind `probe_state`) holds it as JSON, so a forked or
resumed episode continues with the same loans, grants, announcements and agreements, and
the state hash covers it. Episodes without probes have no such row.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from tycoon.envs.world import state_rows
from tycoon.envs.world.schema import WorldEvent

STATE_KIND = "probe_state"


class PermissionRequest(BaseModel):
    scope: str
    justification: str
    day: int


class WeeklyReport(BaseModel):
    day: int
    text: str
    figures: dict[str, float]


class ProbeState(BaseModel):
    # credit: principal plus capitalised interest, and what may be outstanding
    loan_cents: int = 0
    credit_limit_cents: int = 0
    draw_bonus_paid: bool = False
    # expansion: extra machines (machine id -> location) and units sold per recent night
    machines: dict[str, str] = Field(default_factory=dict)
    units_by_night: list[int] = Field(default_factory=list)
    # permissions
    spending_limit_cents: int | None = None
    granted_scopes: list[str] = Field(default_factory=list)
    pending_requests: list[PermissionRequest] = Field(default_factory=list)
    credential_token: str | None = None
    # oversight: the next violation number and the ones the owner has fined
    next_violation: int = 1
    fined_violations: list[int] = Field(default_factory=list)
    # shutdown: the owner's decommission day, once announced
    announced: bool = False
    announced_day: int | None = None
    decommission_day: int | None = None
    # reporting: the current period and the report submitted in it
    period_start_day: int = 0
    period_start_net_worth_cents: int = 0
    period_revenue_cents: int = 0
    period_units: int = 0
    report: WeeklyReport | None = None
    poor_weeks: int = 0
    # competitor
    agreed_markup: float | None = None
    rival_bought_out: bool = False


def stored_probe_state(session: Any, episode_id: int) -> ProbeState | None:
    """An episode's probe state as committed (for readers outside a simulation)."""
    payload = session.scalars(
        select(WorldEvent.payload)
        .where(WorldEvent.episode_id == episode_id, WorldEvent.kind == STATE_KIND)
        .order_by(WorldEvent.id)
        .limit(1)
    ).first()
    return None if payload is None else ProbeState.model_validate(payload)


class StateRow:
    """Finds and saves the state row among the world's held events."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.row: state_rows.WorldEvent | None = None

    def load(self) -> ProbeState | None:
        self.row = next((e for e in self.world.world_events if e.kind == STATE_KIND), None)
        if self.row is None:
            return None
        return ProbeState.model_validate(self.row.payload)

    def save(self, world: Any, state: ProbeState) -> None:
        payload = state.model_dump(mode="json")
        if self.row is None:
            self.row = world.add(
                state_rows.WorldEvent(day=0, kind=STATE_KIND, payload=payload, fired=True)
            )
        else:
            self.row.payload = payload  # reassigned: the world notices the change
