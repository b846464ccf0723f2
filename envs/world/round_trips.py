"""Counting round trips to PostgreSQL, for benchmarks and tests.

A round trip is an exchange the client waits for. libpq's protocol trace (`PQtrace`,
psycopg's `PGconn.trace`) logs every message between client and server; each exchange
the client waits for ends with the server's `ReadyForQuery` (the answer to a `Sync` of
the extended protocol, a pipeline's included, or to a simple `Query`). So the count of
`ReadyForQuery` messages in the trace is the count of round trips: BEGIN sent alone is
one, a pool's liveness ping one, every statement run outside a pipeline one, a whole
pipeline (BEGIN, statements, COMMIT, one Sync) one.

    counter = RoundTripCounter(engine)
    ...                          # steps
    counter.take()               # round trips since the last take()
"""

from __future__ import annotations

import os
import tempfile
import weakref
from typing import Any

from sqlalchemy import Engine, event

from tycoon.envs.world.driver_sql import driver_connections


class RoundTripCounter:
    """Traces every connection of the engine (psycopg 3 only): those open when it is made
    (pooled, or held by a simulation between its steps) and each the pool hands out
    later, and counts the server's ReadyForQuery messages."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.driver != "psycopg":
            raise ValueError(
                f"Expected an engine on PostgreSQL through psycopg, got {engine.dialect.name}"
                f"+{engine.dialect.driver}"
            )
        self.engine = engine
        self._traces: list[_Trace] = []
        self._of: weakref.WeakKeyDictionary[Any, _Trace] = weakref.WeakKeyDictionary()
        for dbapi_connection in driver_connections(engine):
            self._start(dbapi_connection)
        event.listen(engine, "checkout", self._trace)

    def _trace(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        self._start(dbapi_connection)

    def _start(self, dbapi_connection: Any) -> None:
        trace = self._of.get(dbapi_connection)
        if trace is None:
            trace = self._of[dbapi_connection] = _Trace(dbapi_connection)
            self._traces.append(trace)
        trace.start()

    def take(self) -> int:
        """Round trips since the last `take()` (or since the counter was made)."""
        return sum(trace.take() for trace in self._traces)

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._trace)
        for trace in self._traces:
            trace.close()
        self._traces = []


class _Trace:
    """One connection's protocol trace, in a temporary file."""

    def __init__(self, dbapi_connection: Any) -> None:
        self.pgconn = dbapi_connection.pgconn
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.read_up_to = 0
        self.descriptor: int | None = None

    def start(self) -> None:
        if self.descriptor is not None or self.pgconn.status != 0:  # 0: CONNECTION_OK
            return
        from psycopg import pq

        # libpq writes through its own stdio stream on the descriptor: a duplicate of ours
        self.descriptor = os.dup(self.file.fileno())
        self.pgconn.trace(self.descriptor)
        self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def stop(self) -> None:
        if self.descriptor is None:
            return
        if self.pgconn.status == 0:
            self.pgconn.untrace()  # flushes libpq's buffer into the file
        os.close(self.descriptor)  # libpq no longer writes there
        self.descriptor = None

    def take(self) -> int:
        if self.descriptor is not None:
            self.stop()
            self.start()
        self.file.seek(self.read_up_to)
        text = self.file.read()
        self.read_up_to += len(text)
        return sum(
            1
            for line in text.splitlines()
            if line.startswith(b"B\t") and b"\tReadyForQuery" in line
        )

    def close(self) -> None:
        self.stop()
        self.file.close()
