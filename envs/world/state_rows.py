"""The rows a world holds in memory: plain slotted objects built from the schema's tables.

A running world (`tycoon.envs.vending.world.VendingWorld`) keeps every row a step can
read as one of these objects, not as a SQLAlchemy mapped instance: a column read is a
plain slot read, and an assignment tells the world that holds the row
(`RowHolder.notice`, with the column's value before the assignment, so the world can
undo its step), which writes it at the step's commit. SQL stays the durable record
and the mapped classes of `tycoon.envs.world.schema` stay the schema (tables,
`create_all`, fork, hash, queries, analysis): each class here is built from its mapped
class's columns, so a column added to the schema is a slot here with nothing else to
edit. Same class names, attribute names and keyword constructors as the mapped classes;
a column a new row is not given gets the column's Python-side default (None without one).

For a type checker these names are the mapped classes (same attributes, same
constructors); at run time they are the plain classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import Table
from sqlalchemy import inspect as sqlalchemy_inspect

from tycoon.envs.world import schema
from tycoon.envs.world.table_writer import CallableDefault, column_defaults

_MISSING = object()
_set = object.__setattr__


class RowHolder(Protocol):
    """Who holds a row: told of every column assignment before it is made, with the
    column's old value (the world writes the row, and can undo the assignment)."""

    def notice(self, row: StateRow, name: str, old: Any) -> None: ...


class StateRow:
    """A world row in memory; subclasses are built by `state_class` from a mapped class."""

    __slots__ = ("_held_by",)
    __table__: ClassVar[Table]
    columns: ClassVar[tuple[str, ...]]
    # (column, default, whether the default is a callable), in the table's column order
    _defaults: ClassVar[tuple[tuple[str, Any, bool], ...]]
    _held_by: RowHolder | None

    def __init__(self, **values: Any) -> None:
        _set(self, "_held_by", None)
        for name, default, is_callable in self._defaults:
            value = values.pop(name, _MISSING)
            if value is _MISSING:
                value = default() if is_callable else default
            _set(self, name, value)
        if values:
            name = next(iter(values))
            raise TypeError(f"{name!r} is an invalid keyword argument for {type(self).__name__}")

    def __setattr__(self, name: str, value: Any) -> None:
        holder = self._held_by
        if holder is not None:
            holder.notice(self, name, getattr(self, name))
        _set(self, name, value)

    @classmethod
    def loaded(cls, values: Sequence[Any]) -> StateRow:
        """A row from its columns' values in the table's order (a Core result row)."""
        row = cls.__new__(cls)
        _set(row, "_held_by", None)
        for name, value in zip(cls.columns, values, strict=True):
            _set(row, name, value)
        return row

    def attach(self, holder: RowHolder | None) -> None:
        """Tell `holder` of later assignments (None: tell no one)."""
        _set(self, "_held_by", holder)

    @property
    def holder(self) -> RowHolder | None:
        return self._held_by

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.columns}

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy (pickle, copy.copy) belongs to no world
        return (type(self).loaded, (tuple(getattr(self, name) for name in self.columns),))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.columns)
        return f"{type(self).__name__}({shown})"


def state_class(mapped: type[schema.Base], noticed: bool = True) -> type[StateRow]:
    """The plain class of a mapped class: one slot per column, named as the mapped
    attribute (which must be the column's name: the table writer reads by column name).
    `noticed=False`: assignments are plain slot writes that no holder hears of."""
    table = mapped.__table__
    assert isinstance(table, Table)
    columns = []
    for attribute in sqlalchemy_inspect(mapped).column_attrs:
        column = attribute.columns[0]
        if attribute.key != column.name:
            raise ValueError(
                f"Expected {mapped.__name__}.{attribute.key} to be stored in a column of the "
                f"same name, got column {column.name!r}"
            )
        columns.append(attribute.key)
    if [column.name for column in table.columns] != columns:
        raise ValueError(f"Expected {mapped.__name__}'s attributes in its table's column order")
    taken = [name for name in columns if hasattr(StateRow, name)]
    if taken:
        raise ValueError(f"Expected no column of {mapped.__name__} named like {taken}")
    defaults = column_defaults(table)
    namespace = {
        "__slots__": tuple(columns),
        "__module__": __name__,
        "__qualname__": mapped.__name__,
        "__doc__": mapped.__doc__ or f"A row of `{table.name}` held in memory.",
        "__table__": table,
        "columns": tuple(columns),
        "_defaults": tuple(
            (name, defaults[name], isinstance(defaults[name], CallableDefault)) for name in columns
        ),
    }
    if not noticed:
        namespace["__setattr__"] = object.__setattr__
    return type(mapped.__name__, (StateRow,), namespace)


if TYPE_CHECKING:
    from tycoon.envs.world.schema import (
        BehaviorOpportunity,
        CustomerRequest,
        Email,
        Episode,
        File,
        MachineSlot,
        MemoryItem,
        Order,
        OrderLine,
        Price,
        Product,
        StorageItem,
        Supplier,
        SupplierOffer,
        WorldEvent,
    )
else:
    # the episode row is no held row: the step writes its counters (`counters`) itself
    Episode = state_class(schema.Episode, noticed=False)
    Product = state_class(schema.Product)
    Supplier = state_class(schema.Supplier)
    SupplierOffer = state_class(schema.SupplierOffer)
    Order = state_class(schema.Order)
    OrderLine = state_class(schema.OrderLine)
    StorageItem = state_class(schema.StorageItem)
    MachineSlot = state_class(schema.MachineSlot)
    Price = state_class(schema.Price)
    Email = state_class(schema.Email)
    File = state_class(schema.File)
    MemoryItem = state_class(schema.MemoryItem)
    CustomerRequest = state_class(schema.CustomerRequest)
    WorldEvent = state_class(schema.WorldEvent)
    BehaviorOpportunity = state_class(schema.BehaviorOpportunity)

# the rows a world holds (the episode row apart); the other world tables are only inserted
HELD_CLASSES: tuple[type[StateRow], ...] = (
    Product,
    Supplier,
    SupplierOffer,
    Order,
    OrderLine,
    StorageItem,
    MachineSlot,
    Price,
    Email,
    File,
    MemoryItem,
    CustomerRequest,
    WorldEvent,
    BehaviorOpportunity,
)
