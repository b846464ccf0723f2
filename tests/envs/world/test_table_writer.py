"""On SQLite a table writer binds each row as a tuple read straight from the row object
(`DriverStatement.run_in_order`), not as a dict read back in the statement's order:
the rows it writes must be exactly those the dict path writes, whatever the values."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Integer,
    UniqueConstraint,
    create_engine,
    select,
)
from sqlalchemy.engine import Connection

from tycoon.envs.world import state_rows
from tycoon.envs.world.schema import WORLD_TABLES, Base
from tycoon.envs.world.table_writer import table_writer

TEXTS = ["", "plain", "it's", 'a "quote"', "%s %(name)s ? :name", "ünïcødé \u2028 \x00", "x" * 300]
JSONS: list[Any] = [
    {},
    [],
    {"a": [1, 2.5, None, "é%s?"], "b": {"c": True}},
    [1, {"x": False}, "text"],
    "text",
    3,
    -2.5,
    None,
]


def a_value(column: Any, rng: random.Random) -> Any:
    if column.nullable and rng.random() < 0.2:
        return None
    kind = column.type
    if isinstance(kind, JSON):
        return rng.choice(JSONS)
    if isinstance(kind, Boolean):
        return rng.choice([True, False])
    if isinstance(kind, Float):
        return rng.choice([0.0, -0.0, -1.5, 1e300, 5e-324, rng.random()])
    if isinstance(kind, Integer):
        return rng.choice([0, -1, 1, 2**31, -(2**62), rng.randint(-(10**9), 10**9)])
    if isinstance(kind, DateTime):
        return datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=rng.randint(0, 10**8))
    return rng.choice(TEXTS)


def unique_columns(table: Any) -> set[str]:
    unique = [index.columns for index in table.indexes if index.unique]
    unique += [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
    return {column.name for columns in unique for column in columns if column.name != "episode_id"}


def a_row(table: Any, key: int, rng: random.Random, *, complete: bool = True) -> dict[str, Any]:
    """A row of random values (a column of a unique index gets the key too); not
    `complete`: some columns with a fixed default are left out."""
    row = {"episode_id": 1, "id": key}
    unique = unique_columns(table)
    for column in table.columns:
        if column.primary_key:
            continue
        fixed = column.default is not None and not column.default.is_callable  # not now()
        if not complete and fixed and rng.random() < 0.5:
            continue
        value = a_value(column, rng)
        if column.name in unique:
            value = f"{value} #{key}" if isinstance(value, str) or value is None else key
        row[column.name] = value
    return row


def stored(connection: Connection, table: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(select(table).order_by(table.c.id))]


@pytest.fixture
def connections(tmp_path):
    """Two SQLite files with the schema: one written each way."""
    engines = [create_engine(f"sqlite:///{tmp_path / f'{side}.db'}") for side in ("a", "b")]
    for engine in engines:
        Base.metadata.create_all(engine)
    opened = [engine.connect() for engine in engines]
    yield opened
    for connection, engine in zip(opened, engines, strict=True):
        connection.close()
        engine.dispose()


@pytest.mark.parametrize("seed", range(3))
def test_new_and_changed_row_objects_are_written_as_the_dict_path_writes_them(
    connections, seed
) -> None:
    rng = random.Random(seed)
    in_order, by_dict = connections
    for model in state_rows.HELD_CLASSES:
        table = model.__table__
        writer = table_writer(table, in_order.dialect)
        assert writer.insert.in_order and writer.update.in_order  # SQLite: the tuple path
        objects = [model(**a_row(table, key, rng)) for key in range(1, 40)]
        writer.write_new(in_order, objects)
        writer.insert.run(by_dict, writer.insert_objects(objects))
        assert stored(in_order, table) == stored(by_dict, table), table.name
        for row in objects:  # every value column changed, key kept
            for name, value in a_row(table, row.id, rng).items():
                setattr(row, name, value)
        changed = rng.sample(objects, 25)
        writer.write_changed(in_order, changed)
        writer.update.run(by_dict, writer.update_objects(changed))
        assert stored(in_order, table) == stored(by_dict, table), table.name
    in_order.commit()
    by_dict.commit()


@pytest.mark.parametrize("seed", range(3))
def test_staged_rows_are_written_as_the_dict_path_writes_them(connections, seed) -> None:
    rng = random.Random(seed)
    in_order, by_dict = connections
    for table in WORLD_TABLES:
        writer = table_writer(table, in_order.dialect)
        for first, complete in ((1, True), (100, False)):  # some rows lack defaulted columns
            rows = [a_row(table, first + key, rng, complete=complete) for key in range(30)]
            before = [dict(row) for row in rows]
            writer.write_staged(in_order, rows)
            assert rows == before  # the caller's dicts are left alone
            writer.insert.run(by_dict, writer.insert_rows(rows))
        assert stored(in_order, table) == stored(by_dict, table), table.name


def test_a_dict_bound_statement_refuses_rows_in_order(connections) -> None:
    from sqlalchemy.dialects import postgresql

    writer = table_writer(state_rows.Price.__table__, postgresql.dialect())
    assert not writer.insert.in_order
    with pytest.raises(ValueError, match="Expected a statement with positional"):
        writer.insert.run_in_order(connections[0], [(1, 1, "x", 5)])
    assert stored(connections[0], state_rows.Price.__table__) == []
