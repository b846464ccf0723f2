"""Statements compiled once per dialect and run through the driver.

On a cheap step, SQLAlchemy's per-statement work (compilation cache lookups, the ORM's
unit of work, result processing) costs more than SQLite itself. The hot writes of a step
go through these instead; everything else keeps using the ORM.

`step_batch(connection)` sends a step's writes to PostgreSQL in one round trip: inside
it, `DriverStatement.run` holds its statement back; the held statements go out in one
psycopg pipeline (BEGIN, the statements, COMMIT, one Sync) when the transaction commits,
when any other statement is about to run (so the order of statements never changes), or
when the block ends. On SQLite (no network) and on drivers without pipeline mode it
changes nothing.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

# what a statement may raise instead of a driver error it recognises (e.g. the lease
# fence's refusal): called with the driver's exception, returns the exception or None
Refusal = Callable[[BaseException], BaseException | None]


class DriverStatement:
    """One Core statement, compiled once; `run` takes a dict or a list of dicts."""

    def __init__(self, statement: Any, dialect: Dialect, *, refusal: Refusal | None = None) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positions = compiled.positiontup  # None where the driver takes named params
        # a row's values in the driver's order (itemgetter: a third of a generator's cost)
        self._ordered = _row_getter(self.positions)
        self.refusal = refusal
        self._batchable = _pipelines(dialect)

    def _params(self, row: dict[str, Any]) -> Any:
        return row if self._ordered is None else self._ordered(row)

    def run(self, connection: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Run on the connection's driver cursor, in the connection's transaction; the
        driver's row count (-1 for a statement held back by `step_batch`).

        Listeners of `before_cursor_execute` still see the statement; a driver error is
        raised as SQLAlchemy's `DBAPIError` (and a dropped connection is invalidated), as
        `Connection.execute` would."""
        many = isinstance(params, list)
        bound = [self._params(row) for row in params] if many else self._params(params)
        if not connection.in_transaction():
            connection.begin()  # as Connection.execute does: its commit() then commits this
        if self._batchable and (batch := _BATCHES.get(connection)) is not None:
            batch.hold(self, bound, many)  # sent with the step's other statements
            return -1
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
            return cursor.rowcount
        except connection.dialect.loaded_dbapi.Error as exc:
            raise _driver_error(connection, exc, cursor, self.sql, bound, [self]) from exc
        finally:
            cursor.close()


def _row_getter(positions: Any) -> Callable[[dict[str, Any]], tuple[Any, ...]] | None:
    if positions is None:
        return None
    if len(positions) < 2:  # itemgetter of one name gives the value, not a tuple
        return lambda row: tuple(row[name] for name in positions)
    return itemgetter(*positions)


# when each engine last saw a connection drop (see `dropped_at`)
_DROPS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def dropped_at(engine: Engine) -> float | None:
    """When (time.monotonic) a statement run here last found its connection dropped: the
    pool's other connections may be dead too. (SQLAlchemy invalidates its pool itself for
    the statements it runs; this covers the ones run through the driver.)"""
    return _DROPS.get(engine)


def _driver_error(
    connection: Connection,
    exc: BaseException,
    cursor: Any,
    sql: str,
    bound: Any,
    statements: list[DriverStatement],
) -> BaseException:
    """What a driver error of `statements` is raised as: a statement's own refusal (e.g.
    `LeaseLost`), else SQLAlchemy's `DBAPIError` (and a dropped connection is
    invalidated), as `Connection.execute` would raise it."""
    for statement in statements:
        if statement.refusal is not None and (refused := statement.refusal(exc)) is not None:
            return refused
    dialect = connection.dialect
    dropped = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
    if dropped:
        connection.invalidate(exc)
        # the others in the pool may be gone too (a server restart): checked before reuse
        _DROPS[connection.engine] = time.monotonic()
    return DBAPIError.instance(
        sql,
        bound,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=dropped,
        dialect=dialect,
    )


# -- one round trip per step (PostgreSQL) ---------------------------------------------

_PREPARED = "_tycoon_step_batches"
# the batch open on each connection (a Connection is hashed by identity)
_BATCHES: dict[Connection, StepBatch] = {}


def _pipelines(dialect: Dialect) -> bool:
    """Whether step batches go out as one pipeline on this dialect's connections."""
    return getattr(dialect, _PREPARED, False)


class StepBatch:
    """The statements of one step held back, to reach the server in one round trip."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.held: list[tuple[DriverStatement, Any, bool]] = []
        self.sending = False

    def hold(self, statement: DriverStatement, bound: Any, many: bool) -> None:
        self.held.append((statement, bound, many))

    def send(self, *, commit: bool) -> None:
        """Send the held statements in one pipeline (and COMMIT after them when `commit`):
        one round trip. A transaction not begun yet is begun in the same pipeline."""
        if not self.held or self.sending:
            return
        held, self.held = self.held, []
        connection = self.connection
        driver = connection.connection.driver_connection
        cursor = driver.cursor()
        self.sending = True
        try:
            # listeners see each statement, as with Connection.execute, before the pipeline
            # starts (they may run statements of their own)
            if connection.dispatch.before_cursor_execute:
                for statement, bound, many in held:
                    connection.dispatch.before_cursor_execute(
                        connection, cursor, statement.sql, bound, None, many
                    )
            _send_pipeline(driver, cursor, held, commit=commit)
        except connection.dialect.loaded_dbapi.Error as exc:
            statements = [statement for statement, _bound, _many in held]
            sql = "; ".join(statement.sql for statement in statements)
            raise _driver_error(connection, exc, cursor, sql, None, statements) from exc
        finally:
            self.sending = False
            with contextlib.suppress(Exception):
                cursor.close()


def _send_pipeline(
    driver: Any, cursor: Any, held: list[tuple[DriverStatement, Any, bool]], *, commit: bool
) -> None:
    from psycopg.pq import TransactionStatus

    # psycopg begins a transaction with a round trip of its own (BEGIN, then a Sync to
    # learn the status); a step that commits begins it in the pipeline instead, with
    # psycopg in autocommit mode for the moment (no implicit BEGIN), set back after
    own_begin = commit and driver.pgconn.transaction_status == TransactionStatus.IDLE
    if own_begin:
        driver.autocommit = True
    try:
        with driver.pipeline():
            if own_begin:
                cursor.execute("BEGIN", prepare=False)
            for statement, bound, many in held:
                if many:
                    cursor.executemany(statement.sql, bound)
                else:
                    cursor.execute(statement.sql, bound)
            if commit:
                cursor.execute("COMMIT", prepare=False)
    except Exception:
        if (
            own_begin
        ):  # the failed transaction is ours to end (the caller's rollback is then a no-op)
            with contextlib.suppress(Exception):
                driver.rollback()
        raise
    finally:
        if own_begin:
            with contextlib.suppress(Exception):  # a dropped connection is discarded anyway
                driver.autocommit = False


@contextlib.contextmanager
def step_batch(connection: Connection) -> Iterator[None]:
    """The step's writes inside the block reach PostgreSQL in one round trip: held back
    until the transaction commits (sent with the COMMIT), until another statement runs,
    or until the block ends. A refused or failed statement aborts the whole transaction
    (nothing of the step is saved) and raises as it would have unbatched. A no-op on
    SQLite and on engines not made by `make_engine`."""
    if not _pipelines(connection.dialect) or connection in _BATCHES:
        yield
        return
    batch = StepBatch(connection)
    _BATCHES[connection] = batch
    try:
        yield
        batch.send(commit=False)  # what the block wrote and did not commit
    finally:
        del _BATCHES[connection]


def prepare_step_batches(engine: Engine) -> None:
    """Let `step_batch` pipeline on this engine (psycopg 3 with pipeline mode only)."""
    dialect = engine.dialect
    if dialect.driver != "psycopg" or _pipelines(dialect):
        return
    import psycopg

    if not psycopg.Pipeline.is_supported():  # libpq older than 14
        return
    setattr(dialect, _PREPARED, True)
    event.listen(engine, "before_cursor_execute", _send_before_other_statements)
    event.listen(engine, "commit", _send_with_commit)


def _send_before_other_statements(connection: Connection, *_args: Any) -> None:
    # a statement not held back (the ORM's, a Core insert) runs after what was held
    if (batch := _BATCHES.get(connection)) is not None:
        batch.send(commit=False)


def _send_with_commit(connection: Connection) -> None:
    # SQLAlchemy's commit: the held statements and the COMMIT go together; psycopg's own
    # commit() then finds the transaction ended and sends nothing
    if (batch := _BATCHES.get(connection)) is not None:
        batch.send(commit=True)
