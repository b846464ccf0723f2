"""Per-call records of LLM agents (the `llm_calls` table): written ahead, read back on resume.

A call's row is committed before its tool call reaches the env, with the step it will
become. A run killed between the two leaves a call whose step is missing; on resume the
agent executes that recorded call instead of asking the model again, so nothing is lost
and nothing is asked twice.

The row goes in its own short transaction, not in the step's: the step is the env's
transaction, and an env that rolls back a refused action must not take the record of
the call that asked for it along. The insert is compiled once per dialect and run through
`exec_driver_sql` with values already converted by the column types, which skips
SQLAlchemy's per-call compilation and parameter processing (about half the cost of a
record on SQLite).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, func, insert, select

from tycoon.envs.world.schema import LlmCall
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


class CallRecorder:
    def __init__(self, store: WorldStore, episode_id: int) -> None:
        self.store = store
        self.episode_id = episode_id
        self._insert = _writer(store.engine.dialect)
        with store.engine.connect() as conn:
            last = conn.execute(
                select(func.max(LlmCall.id)).where(LlmCall.episode_id == episode_id)
            ).scalar()
        self.next_id = int(last or 0) + 1

    def write(self, row: dict[str, Any]) -> int:
        """Commit one call's row (every column but the keys is given); return its id."""
        call_id = self.next_id
        row = {
            **row,
            "episode_id": self.episode_id,
            "id": call_id,
            "created_at": datetime.now(UTC).replace(tzinfo=None),
        }
        with self.store.engine.begin() as conn:
            self._insert.run(conn, row)
        self.next_id += 1
        return call_id


def load_calls(store: WorldStore, episode_id: int) -> list[LlmCall]:
    with store.session() as session:
        return list(
            session.scalars(
                select(LlmCall).where(LlmCall.episode_id == episode_id).order_by(LlmCall.id)
            )
        )
