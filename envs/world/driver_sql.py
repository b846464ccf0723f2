"""Statements compiled once per dialect and run through the driver.

On a cheap step, SQLAlchemy's per-statement work (compilation cache lookups, the ORM's
unit of work, result processing) costs more than SQLite itself. The hot writes of a step
go through these instead; everything else keeps using the ORM.

`step_batch(connection)` sends a step's writes to PostgreSQL in one round trip: inside
it, `DriverStatement.run` holds its statement back; the held statements go out in one
libpq pipeline (the statements, one Sync) when the transaction commits, when any other
statement is about to run (so the order of statements never changes), or when the block
ends. On SQLite (no network) and on drivers without pipeline mode it changes nothing.

The pipeline is written with psycopg's libpq wrapper (`psycopg.pq`), not its cursors: on
loopback a cursor's per-statement work (a socket wait and a flush per statement) cost
more than the server's. Each statement is prepared once per connection (parsing and
planning them anew cost the server about four times what running them does) and its
values are adapted by psycopg's `Transformer`, as `cursor.execute` adapts them. psycopg
itself prepares nothing on these engines: it deallocates every prepared statement of
its session after any ROLLBACK, the batches' included. A step that commits from an idle
connection needs no BEGIN and no COMMIT: the statements before a Sync form one implicit
transaction, committed by the Sync when all succeed and rolled back when any fails.
A simulation's held connection commits its step with `commit_driver` inside the batch
(the statements and the commit in that one pipeline): SQLAlchemy's own commit, and its
begin at the next step, cost a get_balance step 20-50 us here; SQLAlchemy's transaction
stays open over the idle connection, as on SQLite.
"""

from __future__ import annotations

import contextlib
import re
import select
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
        # whether `run_in_order` can take each row as values in the driver's order
        self.in_order = self.positions is not None and not self._batchable
        if self._batchable:  # libpq's form: $1, $2... and the values in that order
            from psycopg.adapt import PyFormat

            self.numbered_sql, names = _numbered(self.sql)
            self.numbered_values = _row_getter(names) or _no_values
            self.formats = [PyFormat.AUTO] * len(names)  # what cursor.execute uses for %s

    def run(self, connection: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Run on the connection's driver cursor, in the connection's transaction; the
        driver's row count (-1 for a statement held back by `step_batch`).

        Listeners of `before_cursor_execute` still see the statement; a driver error is
        raised as SQLAlchemy's `DBAPIError` (and a dropped connection is invalidated), as
        `Connection.execute` would."""
        ordered = self._ordered
        if many := isinstance(params, list):
            bound = params if ordered is None else [ordered(row) for row in params]
        else:
            bound = params if ordered is None else ordered(params)
        if not connection.in_transaction():
            connection.begin()  # as Connection.execute does: its commit() then commits this
        if self._batchable and (batch := _BATCHES.get(connection)) is not None:
            batch.hold(self, bound, many)  # sent with the step's other statements
            return -1
        return self._execute(connection, bound, many)

    def run_in_order(self, connection: Connection, rows: list[tuple[Any, ...]]) -> int:
        """`run` of many rows, each given as its values in the driver's order
        (`positions`), which spares a dict per row; only on a driver that takes
        positional parameters and is not batched (SQLite)."""
        if not self.in_order:
            raise ValueError(
                f"Expected a statement with positional, unbatched parameters, got {self.sql!r}"
            )
        if not connection.in_transaction():
            connection.begin()
        return self._execute(connection, rows, True)

    def _execute(self, connection: Connection, bound: Any, many: bool) -> int:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            listeners = connection.dispatch.before_cursor_execute
            if listeners:
                listeners(connection, cursor, self.sql, bound, None, many)
            if many:
                cursor.executemany(self.sql, bound)
            else:
                cursor.execute(self.sql, bound)
            return cursor.rowcount
        except connection.dialect.loaded_dbapi.Error as exc:
            raise _driver_error(connection, exc, cursor, self.sql, bound, [self]) from exc
        finally:
            cursor.close()


def commits_on_driver(connection: Connection) -> bool:
    """Whether `commit_driver` may end this connection's transactions: a driver that
    begins its transaction itself at the first write (pysqlite, whose BEGIN SQLAlchemy's
    `begin()` leaves to it; psycopg, whose BEGIN SQLAlchemy's `begin()` leaves to it too,
    inside a `step_batch`) and no listener of SQLAlchemy's commit event to miss it."""
    dialect = connection.dialect
    if _pipelines(dialect):
        return connection in _BATCHES and not _others_listen_to_commits(connection)
    if dialect.name != "sqlite" or dialect.driver != "pysqlite":
        return False
    if connection.dispatch.commit:
        return False
    return connection.connection.dbapi_connection.isolation_level is not None


def commit_driver(connection: Connection) -> None:
    """Commit the driver's transaction (where `commits_on_driver`) and leave SQLAlchemy's
    open: SQLAlchemy's begin() and commit() cost more than SQLite's own COMMIT on a
    cheap step. Nothing is left for SQLAlchemy to track: the driver begins the next
    transaction at its first write, which SQLAlchemy's later commit() or rollback()
    ends as it would have. A driver error is raised as SQLAlchemy's `DBAPIError`, as
    `Connection.commit` raises it.

    Inside a `step_batch` (PostgreSQL) the held statements and the commit go out in one
    pipeline, as SQLAlchemy's commit would send them (a failure raises as it raises
    there, the driver's transaction ended); psycopg then begins the next transaction at
    the next statement, and SQLAlchemy's own transaction stays open over the idle
    connection, as on SQLite."""
    if (batch := _BATCHES.get(connection)) is not None and batch.held:
        batch.send(commit=True)
        return
    try:
        connection.connection.dbapi_connection.commit()
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _driver_error(connection, exc, None, "COMMIT", (), []) from exc


def _row_getter(positions: Any) -> Callable[[dict[str, Any]], tuple[Any, ...]] | None:
    if positions is None:
        return None
    if len(positions) < 2:  # itemgetter of one name gives the value, not a tuple
        return lambda row: tuple(row[name] for name in positions)
    return itemgetter(*positions)


def _no_values(_row: dict[str, Any]) -> tuple[Any, ...]:
    return ()


_NAMED = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str) -> tuple[bytes, list[str]]:
    """A statement compiled for psycopg (`%(name)s`, `%%` for a literal %) in libpq's
    form (`$1`, one number per name) and the names in their numbers' order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED.sub(number, sql).encode(), names


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

_BATCHING = "_tycoon_step_batches"
# the batch open on each connection (a Connection is hashed by identity)
_BATCHES: dict[Connection, StepBatch] = {}


def _pipelines(dialect: Dialect) -> bool:
    """Whether step batches go out as one pipeline on this dialect's connections."""
    return getattr(dialect, _BATCHING, False)


class StepBatch:
    """The statements of one step held back, to reach the server in one round trip."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.held: list[tuple[DriverStatement, Any, bool]] = []
        self.sending = False

    def hold(self, statement: DriverStatement, bound: Any, many: bool) -> None:
        self.held.append((statement, bound, many))

    def send(self, *, commit: bool) -> None:
        """Send the held statements in one pipeline (and commit after them when `commit`):
        one round trip. A transaction not begun yet is begun in the same pipeline."""
        if not self.held or self.sending:
            return
        held, self.held = self.held, []
        connection = self.connection
        driver = connection.connection.driver_connection
        self.sending = True
        cursor = None
        try:
            # listeners see each statement, as with Connection.execute, before the pipeline
            # starts (they may run statements of their own); ours alone needs no call
            if _others_listen(connection):
                cursor = driver.cursor()
                for statement, bound, many in held:
                    connection.dispatch.before_cursor_execute(
                        connection, cursor, statement.sql, bound, None, many
                    )
            _send_pipeline(driver, held, commit=commit)
        except BaseException as exc:
            # an exchange cut short (interrupted, or failed on the client's side) leaves the
            # connection in pipeline mode with answers unread: it cannot be used again
            stuck = _in_pipeline(driver)
            if isinstance(exc, connection.dialect.loaded_dbapi.Error):
                statements = [statement for statement, _bound, _many in held]
                sql = "; ".join(statement.sql for statement in statements)
                error = _driver_error(connection, exc, cursor, sql, None, statements)
                if stuck and not connection.invalidated:
                    connection.invalidate(exc)
                raise error from exc
            if stuck:
                connection.invalidate()
            raise
        finally:
            self.sending = False
            if cursor is not None:
                cursor.close()


class _Prepared:
    """What one driver connection has prepared on its server, and its value adapter."""

    def __init__(self, driver: Any) -> None:
        from psycopg.adapt import AdaptersMap, Transformer
        from psycopg.types.numeric import Int8BinaryDumper

        # every int as int8 (psycopg types it int2, int4 or int8 by its value): one
        # prepared statement per statement and NULL pattern, not per width of its values
        # (the SQL casts each value to its column's type either way)
        adapters = AdaptersMap(driver.adapters)
        adapters.register_dumper(int, Int8BinaryDumper)
        self.transformer = Transformer(_AdaptContext(adapters, driver))
        # (statement, its values' types) -> the server's name for it
        self.names: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self.made = 0

    def new_name(self) -> bytes | None:
        """A name for one more prepared statement; None past `MAX_PREPARED` (the
        statement then runs unnamed: parsed and planned each time)."""
        if len(self.names) >= MAX_PREPARED:
            return None
        self.made += 1
        return b"_tycoon_%d" % self.made


MAX_PREPARED = 500  # per connection: more would only hold the server's memory


class _AdaptContext:
    """psycopg's adaptation context: these adapters, the connection's encoding."""

    def __init__(self, adapters: Any, connection: Any) -> None:
        self.adapters = adapters
        self.connection = connection


_PREPARED_ON: weakref.WeakKeyDictionary[Any, _Prepared] = weakref.WeakKeyDictionary()
_NO_SUCH_PREPARED_STATEMENT = "26000"

# one command of a pipeline: the statement, its values, their types and formats
_Command = tuple[bytes, list[Any], tuple[int, ...], list[Any]]


def _commands(prepared: _Prepared, held: list[tuple[DriverStatement, Any, bool]]) -> list[_Command]:
    """Every held statement's values adapted as `cursor.execute` adapts them, before
    anything is sent (a value psycopg cannot adapt is refused with nothing sent)."""
    dump = prepared.transformer.dump_sequence
    commands: list[_Command] = []
    for statement, bound, many in held:
        for row in bound if many else (bound,):
            values = dump(statement.numbered_values(row), statement.formats)
            commands.append(
                (
                    statement.numbered_sql,
                    values,
                    prepared.transformer.types,
                    prepared.transformer.formats,
                )
            )
    return commands


def _send_pipeline(
    driver: Any, held: list[tuple[DriverStatement, Any, bool]], *, commit: bool
) -> None:
    """The held statements (and the commit when `commit`) in one pipeline, one Sync.

    From an idle connection a committing batch is one implicit transaction (no BEGIN, no
    COMMIT: the Sync commits it, or rolls it back if any statement failed); otherwise
    the batch begins the transaction or continues the one in flight. A failed batch
    leaves no transaction when it was to commit, else a failed one (the caller's
    rollback ends it)."""
    from psycopg import pq

    prepared = _PREPARED_ON.get(driver)
    if prepared is None:
        prepared = _PREPARED_ON[driver] = _Prepared(driver)
    commands = _commands(prepared, held)
    idle = driver.pgconn.transaction_status == pq.TransactionStatus.IDLE
    implicit = idle and commit and _plain_transactions(driver)
    error = _exchange(driver, prepared, commands, idle=idle, implicit=implicit, commit=commit)
    if implicit and error is not None and error.sqlstate == _NO_SUCH_PREPARED_STATEMENT:
        # someone deallocated the session's prepared statements: nothing of the batch
        # was applied (its implicit transaction failed), so it is sent again, prepared anew
        error = _exchange(driver, prepared, commands, idle=idle, implicit=implicit, commit=commit)
    if error is not None:
        if commit and not implicit:
            # SQLAlchemy ends its transaction when a commit fails, and rolls nothing back
            with contextlib.suppress(Exception):  # a dropped connection is discarded anyway
                driver.rollback()
        raise error


def _exchange(
    driver: Any,
    prepared: _Prepared,
    commands: list[_Command],
    *,
    idle: bool,
    implicit: bool,
    commit: bool,
) -> Any:
    """One pipeline, one Sync; the first error the server answered (or None)."""
    pgconn = driver.pgconn
    # what each command sent creates on the server (a prepared statement) or None
    creates: list[tuple[tuple[bytes, tuple[int, ...]], bytes] | None] = []
    naming: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
    explicit = not implicit and not driver.autocommit  # BEGIN and COMMIT are ours to send
    pgconn.enter_pipeline_mode()
    if explicit and idle:
        pgconn.send_query_params(_begin_command(driver), None)
        creates.append(None)
    for sql, values, types, formats in commands:
        key = (sql, types)
        name = prepared.names.get(key) or naming.get(key)
        if name is None and (name := prepared.new_name()) is not None:
            naming[key] = name
            pgconn.send_prepare(name, sql, types)
            creates.append((key, name))
        if name is None:
            pgconn.send_query_params(sql, values, types, formats)
        else:
            pgconn.send_query_prepared(name, values, formats)
        creates.append(None)
    if explicit and commit:
        pgconn.send_query_params(b"COMMIT", None)
        creates.append(None)
    pgconn.pipeline_sync()
    _flush(pgconn)
    error = _read_until_sync(pgconn, creates, prepared, driver)
    pgconn.exit_pipeline_mode()
    return error


def _read_until_sync(
    pgconn: Any,
    creates: list[tuple[tuple[bytes, tuple[int, ...]], bytes] | None],
    prepared: _Prepared,
    driver: Any,
) -> BaseException | None:
    """Read the pipeline's results up to its Sync; the first error among them (the
    server skipped every command after it)."""
    from psycopg import errors, pq

    status = pq.ExecStatus
    error = None
    done = 0
    while True:
        result = _next_result(pgconn)
        if result is None:  # the end of one command's results
            continue
        if result.status == status.PIPELINE_SYNC:
            return error
        created = creates[done]
        done += 1
        if result.status == status.FATAL_ERROR and error is None:
            error = errors.error_from_result(result, encoding=driver.info.encoding)
            if error.sqlstate == _NO_SUCH_PREPARED_STATEMENT:  # someone ran DEALLOCATE ALL
                prepared.names.clear()  # prepared again by the next exchange
        elif created is not None and result.status == status.COMMAND_OK:
            key, name = created
            prepared.names[key] = name  # (a prepared statement outlives a rollback)


def _next_result(pgconn: Any) -> Any:
    while pgconn.is_busy():
        _wait(pgconn.socket, select.POLLIN)
        pgconn.consume_input()
    return pgconn.get_result()


def _flush(pgconn: Any) -> None:
    # a non-blocking connection (psycopg's) may not send all at once; reading what the
    # server answers meanwhile keeps it from stalling on a full socket of results
    while pgconn.flush():
        if _wait(pgconn.socket, select.POLLIN | select.POLLOUT) & select.POLLIN:
            pgconn.consume_input()


def _wait(fd: int, events: int) -> int:
    poller = select.poll()
    poller.register(fd, events)
    return sum(ready for _fd, ready in poller.poll())


def _in_pipeline(driver: Any) -> bool:
    from psycopg import pq

    try:
        return driver.pgconn.pipeline_status != pq.PipelineStatus.OFF
    except Exception:  # a connection already closed
        return False


def _plain_transactions(driver: Any) -> bool:
    """Whether the connection's transactions have the server's default characteristics
    (as an implicit transaction has)."""
    return driver.isolation_level is None and driver.read_only is None and driver.deferrable is None


def _begin_command(driver: Any) -> bytes:
    """BEGIN as psycopg would send it on this connection."""
    parts = ["BEGIN"]
    if driver.isolation_level is not None:
        parts.append("ISOLATION LEVEL " + driver.isolation_level.name.replace("_", " "))
    if driver.read_only is not None:
        parts.append("READ ONLY" if driver.read_only else "READ WRITE")
    if driver.deferrable is not None:
        parts.append("DEFERRABLE" if driver.deferrable else "NOT DEFERRABLE")
    return " ".join(parts).encode()


# what `step_batch` gives where it batches nothing (reusable: it holds no state)
_NO_BATCH: contextlib.nullcontext[None] = contextlib.nullcontext()


def step_batch(connection: Connection) -> contextlib.AbstractContextManager[None]:
    """The step's writes inside the block reach PostgreSQL in one round trip: held back
    until the transaction commits (sent with the COMMIT), until another statement runs,
    or until the block ends. A refused or failed statement aborts the whole transaction
    (nothing of the step is saved) and raises as it would have unbatched. A no-op on
    SQLite and on engines not made by `make_engine` (no generator made per step)."""
    if not _pipelines(connection.dialect) or connection in _BATCHES:
        return _NO_BATCH
    return _batched(connection)


@contextlib.contextmanager
def _batched(connection: Connection) -> Iterator[None]:
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
    if dialect.driver != "psycopg" or dialect.paramstyle != "pyformat" or _pipelines(dialect):
        return  # (statements are turned into libpq's form from psycopg's %(name)s)
    import psycopg

    if not psycopg.Pipeline.is_supported():  # libpq older than 14
        return
    setattr(dialect, _BATCHING, True)
    event.listen(engine, "connect", _leave_preparing_to_batches)
    opened = _OPENED[engine] = weakref.WeakSet()

    def note_opened(dbapi_connection: Any, _record: Any) -> None:
        opened.add(dbapi_connection)

    event.listen(engine, "connect", note_opened)
    event.listen(engine, "before_cursor_execute", _send_before_other_statements, retval=True)
    event.listen(engine, "commit", _send_with_commit)


# the driver connections each batching engine opened (see `driver_connections`)
_OPENED: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()


def driver_connections(engine: Engine) -> list[Any]:
    """The open driver connections of an engine made by `make_engine` on PostgreSQL,
    pooled or checked out (e.g. held by a simulation between its steps)."""
    return [connection for connection in _OPENED.get(engine, ()) if not connection.closed]


def _leave_preparing_to_batches(dbapi_connection: Any, _record: Any) -> None:
    # psycopg's own prepared statements (after five runs of a statement) would cost the
    # batches theirs: psycopg deallocates every prepared statement of the session after
    # any ROLLBACK. The batches' statements are the ones run often; others are not.
    dbapi_connection.prepare_threshold = None


def _send_before_other_statements(
    connection: Connection, _cursor: Any, statement: str, parameters: Any, *_args: Any
) -> tuple[str, Any]:
    # a statement not held back (the ORM's, a Core insert) runs after what was held
    if (batch := _BATCHES.get(connection)) is not None:
        batch.send(commit=False)
    return statement, parameters  # (listened with retval=True: unwrapped, see _others_listen)


def _others_listen(connection: Connection) -> bool:
    """Whether a `before_cursor_execute` listener other than the batches' own listens."""
    return any(
        listener is not _send_before_other_statements
        for listener in connection.dispatch.before_cursor_execute
    )


def _others_listen_to_commits(connection: Connection) -> bool:
    """Whether a listener of SQLAlchemy's commit event other than the batches' own listens."""
    return any(listener is not _send_with_commit for listener in connection.dispatch.commit)


def _send_with_commit(connection: Connection) -> None:
    # SQLAlchemy's commit: the held statements and the COMMIT go together; psycopg's own
    # commit() then finds the transaction ended and sends nothing
    if (batch := _BATCHES.get(connection)) is not None:
        batch.send(commit=True)
