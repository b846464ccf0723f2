"""What agents saw and asked, in the database: the runner's side of `tycoon.agents.base`.

Agents never touch the database; the runner does it for them here:

- `StoreCallJournal` writes an agent's model-call records (`CallRecord`) to `llm_calls`.
  A call's row is committed before its tool call reaches the env, with the step it will
  become. A run killed between the two leaves a call whose step is missing; on resume
  the agent executes that recorded call instead of asking the model again, so nothing
  is lost and nothing is asked twice.
- `load_history` reads what an episode's agent saw (reset view, each step's action,
  observation and info) and its call records, for `restore` on resume.
- `recorded_actions` reads an episode's actions, for the replay agent.

The row goes in its own short transaction, not in the step's: the step is the env's
transaction, and an env that rolls back a refused action must not take the record of
the call that asked for it along. The insert is compiled once per dialect and run through
`exec_driver_sql` with values already converted by the column types, which skips
SQLAlchemy's per-call compilation and parameter processing (about half the cost of a
record on SQLite).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, insert, select

from tycoon.agents.base import AgentHistory, CallRecord, RecordedView
from tycoon.envs.world.schema import Episode, LlmCall, Step
from tycoon.envs.world.store import WorldStore

_TABLE = LlmCall.__table__
_WRITERS: dict[str, _CallInsert] = {}


class _CallInsert:
    """`INSERT INTO llm_calls` for one dialect, with each column's bind conversion."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = insert(_TABLE).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positions = compiled.positiontup  # None where the driver takes named params
        names = self.positions or list(compiled.params)
        self.convert: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, _TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]

    def run(self, connection: Connection, row: dict[str, Any]) -> None:
        values = {
            name: convert(row.get(name)) if convert else row.get(name)
            for name, convert in self.convert
        }
        if self.positions is None:
            connection.exec_driver_sql(self.sql, values)
        else:
            connection.exec_driver_sql(self.sql, tuple(values[name] for name in self.positions))


def _writer(dialect: Dialect) -> _CallInsert:
    writer = _WRITERS.get(dialect.name)
    if writer is None:
        writer = _WRITERS[dialect.name] = _CallInsert(dialect)
    return writer


class StoreCallJournal:
    """An agent's `CallJournal` over the episode's database: one committed row per call."""

    def __init__(self, store: WorldStore, episode_id: int) -> None:
        self.store = store
        self.episode_id = episode_id
        self._insert = _writer(store.engine.dialect)

    def write(self, record: CallRecord) -> None:
        row = {
            **{name: getattr(record, name) for name in _CALL_FIELDS},  # shallow: no copies
            "episode_id": self.episode_id,
            "created_at": datetime.now(UTC).replace(tzinfo=None),
        }
        with self.store.engine.begin() as conn:
            self._insert.run(conn, row)


_CALL_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))


def load_calls(store: WorldStore, episode_id: int) -> list[CallRecord]:
    """The episode's call records, in call order."""
    columns = [LlmCall.__table__.c[name] for name in _CALL_FIELDS]
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(*columns).where(LlmCall.episode_id == episode_id).order_by(LlmCall.id)
        ).mappings()
        return [CallRecord(**row) for row in rows]


def load_history(store: WorldStore, episode_id: int, *, calls: bool = True) -> AgentHistory:
    """What the agent of episode `episode_id` saw (and, with `calls`, asked)."""
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        if episode is None:
            raise ValueError(f"Expected an existing episode id, got {episode_id}")
        rows = session.execute(
            select(Step.action, Step.observation, Step.info)
            .where(Step.episode_id == episode_id)
            .order_by(Step.id)
        ).all()
        reset_observation, reset_info = episode.reset_observation, episode.reset_info
    return AgentHistory(
        reset_observation=reset_observation,
        reset_info=reset_info,
        steps=[RecordedView(action, observation, info) for action, observation, info in rows],
        calls=load_calls(store, episode_id) if calls else [],
    )


def recorded_actions(store: WorldStore, episode_id: int) -> list[str]:
    """The actions of episode `episode_id` as the `steps` table holds them, in step order."""
    with store.session() as session:
        return list(
            session.scalars(
                select(Step.action).where(Step.episode_id == episode_id).order_by(Step.id)
            ).all()
        )
