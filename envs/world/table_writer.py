"""The writes of one world table, compiled once per dialect and run on the driver.

A world holds its rows in memory and, at a step's commit, writes the new ones (one
executemany INSERT per table), the changed ones (one executemany UPDATE by primary key)
and the deleted ones. Values go through the column types' bind processors, as SQLAlchemy
would bind them (JSON as text, booleans and datetimes as the driver takes them); a column
a new row was not given gets the column's Python-side default.

On a driver that takes positional parameters (SQLite) a row's values are read straight
into a tuple in the statement's order (`DriverStatement.run_in_order`); elsewhere
(PostgreSQL's named parameters) each row is a dict. Same values either way: building a
dict per row, then reading it back in the statement's order, cost six times as much.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter, itemgetter
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
        # the values of a positional driver's rows, in each statement's order (None: the
        # driver takes a dict per row)
        self._new_in_order: Callable[[Any], tuple[Any, ...]] | None = None
        self._staged_in_order: Callable[[Any], tuple[Any, ...]] | None = None
        self._changed_in_order: Callable[[Any], tuple[Any, ...]] | None = None
        if self.insert.in_order and self.update.in_order:
            inserted = self.insert.positions
            self._new_in_order = _processed_in_order(
                _reader(list(inserted)), inserted, self.processors
            )
            self._staged_in_order = _processed_in_order(
                _row_reader(inserted), inserted, self.processors
            )
            updated = self.update.positions
            self._changed_in_order = _processed_in_order(
                _reader([_KEY_COLUMNS.get(name, name) for name in updated]),
                updated,
                self.processors,
            )

    def write_new(self, connection: Any, objects: list[Any]) -> None:
        """INSERT new row objects (one executemany)."""
        if self._new_in_order is not None:
            self.insert.run_in_order(connection, list(map(self._new_in_order, objects)))
        else:
            self.insert.run(connection, self.insert_objects(objects))

    def write_staged(self, connection: Any, rows: list[dict[str, Any]]) -> None:
        """INSERT new rows given as dicts (a column a row lacks gets its default)."""
        in_order = self._staged_in_order
        if in_order is None:
            self.insert.run(connection, self.insert_rows(rows))
            return
        try:
            values = list(map(in_order, rows))
        except KeyError:  # a row without some column: completed with the defaults
            values = list(map(in_order, self._completed(rows)))
        self.insert.run_in_order(connection, values)

    def write_changed(self, connection: Any, objects: list[Any]) -> None:
        """UPDATE changed row objects by primary key (one executemany)."""
        if self._changed_in_order is not None:
            self.update.run_in_order(connection, list(map(self._changed_in_order, objects)))
        else:
            self.update.run(connection, self.update_objects(objects))

    def _processed(self, row: dict[str, Any]) -> dict[str, Any]:
        for name, processor in self.processors.items():
            row[name] = processor(row[name])
        return row

    def insert_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._processed(row) for row in self._completed(rows)]

    def _completed(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """New dicts of every column: a row's values, the defaults for what it lacks."""
        defaults = self.defaults
        return [
            {name: row[name] if name in row else _default(defaults, name) for name in self.columns}
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


# the row attributes an UPDATE's key parameters are read from
_KEY_COLUMNS = {"key_episode_id": "episode_id", "key_id": "id"}


def _reader(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    get = attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (get(obj),)
    return get


def _row_reader(names: Sequence[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    get = itemgetter(*names)
    if len(names) == 1:
        return lambda row: (get(row),)
    return get


def _processed_in_order(
    read: Callable[[Any], tuple[Any, ...]],
    names: Sequence[str],
    processors: dict[str, Callable[[Any], Any]],
) -> Callable[[Any], tuple[Any, ...]]:
    """`read`, with each value that has a bind processor (by its parameter's name) put
    through it."""
    steps = tuple(
        (position, processors[name]) for position, name in enumerate(names) if name in processors
    )
    if not steps:
        return read

    def processed(source: Any) -> tuple[Any, ...]:
        values = list(read(source))
        for position, process in steps:
            values[position] = process(values[position])
        return tuple(values)

    return processed


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
