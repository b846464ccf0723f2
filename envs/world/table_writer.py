"""The writes of one world table, compiled once per dialect and run on the driver.

A world holds its rows in memory and, at a step's commit, writes the new ones (one
executemany INSERT per table), the changed ones (one executemany UPDATE by primary key)
and the deleted ones. Values go through the column types' bind processors, as SQLAlchemy
would bind them (JSON as text, booleans and datetimes as the driver takes them); a column
a new row was not given gets the column's Python-side default.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, update
from sqlalchemy.engine import Dialect

from tycoon.envs.world.driver_sql import DriverStatement


class TableWriter:
    """The insert, update (by primary key) and delete of one table, compiled once for a
    dialect; values go through the column types' bind processors (JSON as text...)."""

    def __init__(self, table: Any, dialect: Dialect) -> None:
        self.table = table
        self.columns = [column.name for column in table.columns]
        self.values = [column.name for column in table.columns if not column.primary_key]
        # a row object's values, in these orders, read in one call
        self._read_columns = _reader(self.columns)
        self._read_values = _reader(self.values)
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for column in table.columns:
            processor = column.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[column.name] = processor
        self.defaults = _defaults_of(table)
        key = and_(
            table.c.episode_id == bindparam("key_episode_id"), table.c.id == bindparam("key_id")
        )
        self.insert = DriverStatement(insert(table), dialect)
        self.update = DriverStatement(
            update(table).where(key).values({name: bindparam(name) for name in self.values}),
            dialect,
        )
        self.delete = DriverStatement(delete(table).where(key), dialect)

    def _processed(self, row: dict[str, Any]) -> dict[str, Any]:
        for name, processor in self.processors.items():
            row[name] = processor(row[name])
        return row

    def insert_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        defaults = self.defaults
        return [
            self._processed(
                {
                    name: row[name] if name in row else _default(defaults, name)
                    for name in self.columns
                }
            )
            for row in rows
        ]

    def insert_objects(self, objects: list[Any]) -> list[dict[str, Any]]:
        columns, read = self.columns, self._read_columns
        return [self._processed(dict(zip(columns, read(o), strict=True))) for o in objects]

    def update_objects(self, objects: list[Any]) -> list[dict[str, Any]]:
        rows = []
        values, read = self.values, self._read_values
        for obj in objects:
            row = self._processed(dict(zip(values, read(obj), strict=True)))
            row["key_episode_id"] = obj.episode_id
            row["key_id"] = obj.id
            rows.append(row)
        return rows


def _reader(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    get = attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (get(obj),)
    return get


def column_defaults(table: Any) -> dict[str, Any]:
    """Each column's Python-side default (a value, or a callable taking no arguments)."""
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is None:
            defaults[column.name] = None
        elif default.is_callable:
            defaults[column.name] = CallableDefault(default.arg)
        else:
            defaults[column.name] = default.arg
    return defaults


class CallableDefault:
    """A column's default that is computed for each row (SQLAlchemy calls it with a
    context; tycoon's defaults ignore it)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __call__(self) -> Any:
        return self.function(None)  # SQLAlchemy wraps a default as f(context)


def _default(defaults: dict[str, Any], name: str) -> Any:
    value = defaults[name]
    return value() if isinstance(value, CallableDefault) else value


def column_default(table: Any, name: str) -> Any:
    """The value a new row gets in a column it was not given."""
    return _default(_defaults_of(table), name)


_WRITERS: dict[tuple[str, str, str], TableWriter] = {}
_DEFAULTS: dict[str, dict[str, Any]] = {}


def _defaults_of(table: Any) -> dict[str, Any]:
    defaults = _DEFAULTS.get(table.name)
    if defaults is None:
        defaults = _DEFAULTS[table.name] = column_defaults(table)
    return defaults


def table_writer(table: Any, dialect: Dialect) -> TableWriter:
    key = (dialect.name, str(dialect.paramstyle), table.name)
    writer = _WRITERS.get(key)
    if writer is None:
        writer = _WRITERS[key] = TableWriter(table, dialect)
    return writer
