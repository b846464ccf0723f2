"""Statements compiled once per dialect and run through the driver.

On a cheap step, SQLAlchemy's per-statement work (compilation cache lookups, the ORM's
unit of work, result processing) costs more than SQLite itself. The hot writes of a step
go through these instead; everything else keeps using the ORM.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Table, and_, bindparam, inspect, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class DriverStatement:
    """One Core statement, compiled once; `run` takes a dict or a list of dicts."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positions = compiled.positiontup  # None where the driver takes named params

    def _params(self, row: dict[str, Any]) -> Any:
        if self.positions is None:
            return row
        return tuple(row[name] for name in self.positions)

    def run(self, connection: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Run on the connection's driver cursor, in the connection's transaction.

        Listeners of `before_cursor_execute` still see the statement; a driver error is
        raised as SQLAlchemy's `DBAPIError` (and a dropped connection is invalidated), as
        `Connection.execute` would."""
        many = isinstance(params, list)
        bound = [self._params(row) for row in params] if many else self._params(params)
        pooled = connection.connection
        cursor = pooled.cursor()
        try:
            if connection.dispatch.before_cursor_execute:
                connection.dispatch.before_cursor_execute(
                    connection, cursor, self.sql, bound, None, many
                )
            if many:
                cursor.executemany(self.sql, bound)
            else:
                cursor.execute(self.sql, bound)
        except connection.dialect.loaded_dbapi.Error as exc:
            dialect = connection.dialect
            dropped = dialect.is_disconnect(exc, pooled.dbapi_connection, cursor)
            if dropped:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                self.sql,
                bound,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=dropped,
                dialect=dialect,
            ) from exc
        finally:
            cursor.close()


class RowUpdater:
    """Writes changed ORM objects of chosen classes with one executemany per table.

    The objects stay in the session; once written they are marked committed and clean,
    as the ORM marks what it flushes, so the ORM's own flush never visits them. Only for classes without relationships
    whose primary key is (episode_id, id), as every world table's is.
    """

    def __init__(self, classes: tuple[type, ...], dialect: Dialect) -> None:
        self._columns: dict[type, list[str]] = {}
        self._statements: dict[type, DriverStatement] = {}
        # the driver gets values as the column types would bind them (JSON as text, ...)
        self._processors: dict[type, dict[str, Any]] = {}
        for cls in classes:
            table: Table = cls.__table__  # type: ignore[attr-defined]
            columns = [c.name for c in table.columns if not c.primary_key]
            self._processors[cls] = {
                c.name: processor
                for c in table.columns
                if not c.primary_key
                and (processor := c.type._cached_bind_processor(dialect)) is not None
            }
            statement = (
                update(table)
                .where(
                    and_(
                        table.c.episode_id == bindparam("key_episode_id"),
                        table.c.id == bindparam("key_id"),
                    )
                )
                .values({name: bindparam(name) for name in columns})
            )
            self._columns[cls] = columns
            self._statements[cls] = DriverStatement(statement, dialect)

    def write_dirty(self, session: Session, connection: Connection) -> None:
        if not session.dirty:
            return
        pending: dict[type, list[Any]] = defaultdict(list)
        for obj in session.dirty:
            if type(obj) in self._statements:
                pending[type(obj)].append(obj)
        for cls, objects in pending.items():
            columns, processors = self._columns[cls], self._processors[cls]
            values = [{name: getattr(obj, name) for name in columns} for obj in objects]
            rows = []
            for obj, value in zip(objects, values, strict=True):
                row = {
                    name: processors[name](v) if name in processors else v
                    for name, v in value.items()
                }
                row["key_episode_id"] = obj.episode_id
                row["key_id"] = obj.id
                rows.append(row)
            self._statements[cls].run(connection, rows)
            for obj in objects:
                # as the ORM does after its own flush: committed, no longer "modified"
                state = inspect(obj)
                state._commit_all(state.dict, session.identity_map)
