"""WorldStore: where worlds live. One database holds many episodes.

A SQLite file is the default (WAL journal, synchronous=NORMAL: a step's commit survives a
killed process, and readers never block the writer; a new file has 1 KB pages and
checkpoints every 4 MB of WAL, see `NEW_FILE_PAGE_SIZE`). PostgreSQL works through its
URL, for many writers at once. The same code runs on both.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import threading
import time
import urllib.parse
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    create_engine,
    event,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    select,
)
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool, SingletonThreadPool, StaticPool

from tycoon.envs.world.driver_sql import DriverStatement, dropped_at, prepare_step_batches
from tycoon.envs.world.schema import (
    TRAJECTORY_TABLES,
    WORLD_TABLES,
    Base,
    Episode,
    EpisodeLease,
    LedgerEntry,
)


class StoreError(RuntimeError):
    """The database could not be reached or does not hold what was asked for."""


class StepNotSaved(StoreError):
    """A step's transaction failed: the step's changes were rolled back, every earlier step
    is saved, and the episode can be resumed. `kind` is the fault (see
    `classify_database_error`); `transient` faults are retried first."""

    def __init__(self, message: str, *, episode_id: int, step: int, kind: str | None) -> None:
        super().__init__(message)
        self.episode_id = episode_id
        self.step = step
        self.kind = kind

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_FAULTS


def step_not_saved(exc: BaseException, episode_id: int, step: int) -> StepNotSaved:
    return StepNotSaved(
        f"step {step} of episode {episode_id} was not saved: {describe_database_error(exc)}.",
        episode_id=episode_id,
        step=step,
        kind=classify_database_error(exc),
    )


class EpisodeBusy(StoreError):
    """Another live process is running the episode (it holds the episode's lease)."""


class LeaseLost(EpisodeBusy):
    """This process's lease on an episode was handed to another (its process was declared
    dead): its step is refused and rolled back, so a lost writer cannot fork the episode."""


class MissingDriver(StoreError):
    """The database URL needs a driver that is not installed (named with its extra)."""


# the extra of pyproject.toml that installs each database driver
DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg2": "postgres"}
# drivers whose package on PyPI is named otherwise than the module they import as
DRIVER_PACKAGES = {"MySQLdb": "mysqlclient"}


def database_url(db: str | Path) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as a SQLite file)."""
    db = str(db)
    if "://" in db:
        return db
    if db == ":memory:":
        return "sqlite://"
    path = str(Path(db).expanduser())
    url = f"sqlite:///{path}"
    parsed = make_url(url)
    if parsed.database == path and not parsed.query:
        return url
    # a name a URL reads otherwise ("?" starts a query, "%41" is "A"): escaped, so the
    # file opened is the file named, not another one
    return URL.create("sqlite", database=path).render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = parsed.database
    if database.startswith("file:"):  # a SQLite URI filename (?mode=ro&uri=true)
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def _prepare_sqlite_file(url: str, *, must_exist: bool) -> None:
    """Check (must_exist) or make (otherwise) the place of a SQLite file, with errors
    that name the path."""
    path = sqlite_path(url)
    if path is None:
        if must_exist and make_url(url).get_backend_name() == "sqlite":
            raise StoreError("Expected a database file, got an in-memory SQLite database")
        return
    if must_exist:
        if not path.exists():
            raise StoreError(f"Expected an existing database file, got {str(path)!r}: no such file")
        if not path.is_file():
            raise StoreError(f"Expected a database file, got {str(path)!r}: not a file")
        return
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot open the world database at {url}: expected a folder that can hold "
            f"it, got: cannot create {str(parent)!r} ({exc.strerror or exc})"
        ) from exc
    if not parent.is_dir():
        raise StoreError(f"Expected a folder for the database file, got {str(parent)!r}")
    if path.exists() and not path.is_file():
        raise StoreError(f"Expected a database file, got {str(path)!r}: not a file")


def read_only_url(url: str) -> str:
    """The URL that reads a SQLite file in a folder nothing can be created in (a
    read-only disk): a URI filename with `mode=ro`. Any other URL is returned as it is
    (a writable folder's file opens as before: a read-only connection could not remove
    the `-wal` and `-shm` files it makes, and would leave them behind).

    SQLite reads a WAL database through its `-shm` file, which it creates beside the
    database even to read. Where it cannot, the file is opened `immutable=1`, which needs
    none, but only when no writer can be live: no `-wal` or `-journal` file is beside it.
    SQLite keeps the WAL file while any connection has the database open and removes it
    when the last one closes cleanly, so then nothing committed waits in a WAL that
    immutable would skip, and no writer can start (it could not create its WAL here
    either). With a WAL file present, `mode=ro` reads it through the existing `-shm`.
    """
    path = sqlite_path(url)
    if path is None or make_url(url).database.startswith("file:"):  # type: ignore[union-attr]
        return url  # not a SQLite file, or a URI filename whose options the user chose
    path = path.resolve()
    if os.access(path.parent, os.W_OK):
        return url
    query = {"mode": "ro", "uri": "true"}
    journals = (path.with_name(path.name + suffix) for suffix in ("-wal", "-journal"))
    if not any(journal.exists() for journal in journals):
        query["immutable"] = "1"
    filename = "file:" + urllib.parse.quote(str(path))
    rendered = URL.create("sqlite", database=filename, query=query)
    return rendered.render_as_string(hide_password=False)


def busy_timeout_ms() -> int:
    """How long a SQLite write waits for another process's lock before failing
    (TYCOON_SQLITE_BUSY_TIMEOUT_MS, default 30 s); a failed step is then retried."""
    value = os.environ.get("TYCOON_SQLITE_BUSY_TIMEOUT_MS", "")
    return int(value) if value.isdigit() else 30_000


# The pages of a new SQLite file. A step's commit appends every page it changed to the
# WAL (the step row, its key, the episode's counters, the world's changed rows: six to
# nine), and SQLite fsyncs the WAL and the file at each checkpoint: smaller pages make a
# commit write a third of the bytes (measured over a Year: 26 KB a step at 4 KB pages,
# 9 KB at 1 KB) and let the WAL hold three times the steps between checkpoints. Rows
# longer than a page spill to overflow pages, which only reads of whole trajectories
# notice. An existing file keeps the page size it was made with.
NEW_FILE_PAGE_SIZE = 1024
# SQLite checkpoints when its WAL holds this much (its default is 1000 pages); the WAL
# file is then reused from its start, and cut back to WAL_SIZE_LIMIT_BYTES if a large
# transaction (a fork, a day's or an episode's durability) grew it past that. 16 MB
# checkpoints 2 times a scripted Year where 4 MB does 9, but gained no Year time measured
# back to back, and the step that checkpoints stalled 3-4x longer (150-180 ms, not 35-45)
WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024
WAL_SIZE_LIMIT_BYTES = 4 * WAL_CHECKPOINT_BYTES


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # before the journal mode: the first write of a new file fixes its page size
    cursor.execute(f"PRAGMA page_size={NEW_FILE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={max(1, WAL_CHECKPOINT_BYTES // page_size)}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    cursor.close()


def _tune_existing_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # no journal_mode: switching it writes to the file (a tycoon database is WAL already)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    cursor.close()


def make_engine(db: str | Path, *, existing: bool = False) -> Engine:
    """The engine for a database; `existing` opens a SQLite file without changing it."""
    url = make_url(database_url(db))
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # one shared connection, or every pooled connection would see its own empty
            # in-memory database (and threads would not see each other's)
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        elif url.query.get("mode") == "memory":  # a shared-cache in-memory URI
            engine = create_engine(url, poolclass=SingletonThreadPool)
        else:
            # no limit (pool_size=0): each running simulation holds one connection
            engine = create_engine(url, poolclass=QueuePool, pool_size=0)
        event.listen(engine, "connect", _tune_existing_sqlite if existing else _tune_sqlite)
    elif url.get_backend_name() == "postgresql":
        # no liveness ping on every checkout (a round trip per step): a connection that
        # died while pooled fails its step, which is rolled back and retried on a fresh
        # one (StepNotSaved, "dropped"); one idle for long is pinged first
        engine = create_engine(
            url, pool_size=POSTGRES_POOL_SIZE, max_overflow=8, pool_use_lifo=True
        )
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _pinger_of_idle_connections(engine))
        prepare_step_batches(engine)
    else:
        engine = create_engine(url)
    return engine


# PostgreSQL connections a store keeps; as many simulations may each hold one of them
# (`WorldStore.held_connection`), the others take one from the pool per transaction
POSTGRES_POOL_SIZE = 4

# a pooled PostgreSQL connection unused for this long, or pooled before another one was
# found dropped, is pinged before it is handed out (a server restart or an idle timeout
# then shows there, not in a step)
PING_AFTER_IDLE_S = 30.0
_CHECKED_IN_AT = "tycoon_checked_in_at"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


def _pinger_of_idle_connections(engine: Engine) -> Any:
    dialect = engine.dialect

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None:
            return
        dropped = dropped_at(engine)
        pooled_before_a_drop = dropped is not None and checked_in <= dropped
        if time.monotonic() - checked_in < PING_AFTER_IDLE_S and not pooled_before_a_drop:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # the pool discards this connection and hands out a new one
            raise DisconnectionError(f"a pooled connection idle for long is gone: {exc}") from exc

    return ping_if_idle


class WorldStore:
    """Owns the engine; creates, forks, hashes and lists episodes.

    `must_exist=True` is for commands that continue or annotate what a run wrote (resume,
    judge): the file must already exist and hold tycoon's tables, and is never created
    (no file, no folder); tables added since it was written are created. `read_only=True`
    (for commands that only read: show, export) also changes nothing in the file.
    """

    def __init__(
        self,
        db: str | Path = "runs/tycoon.db",
        *,
        must_exist: bool = False,
        read_only: bool = False,
    ) -> None:
        must_exist = must_exist or read_only
        self._held: weakref.WeakSet[Connection] = weakref.WeakSet()  # by simulations
        # each dialect's lease fence (`fence_step`), looked up once
        self._fences: dict[Any, DriverStatement] = {}
        self._holding = threading.Lock()  # simulations may start in several threads
        self.url = database_url(db)
        safe_url = make_url(self.url).render_as_string(hide_password=True)
        _prepare_sqlite_file(self.url, must_exist=must_exist)
        try:
            self.engine = make_engine(
                read_only_url(self.url) if read_only else self.url, existing=read_only
            )
        except ModuleNotFoundError as exc:
            raise _missing_driver(exc, safe_url) from exc
        except Exception as exc:
            raise StoreError(f"Cannot open the world database at {safe_url}: {exc}") from exc
        try:
            if must_exist:
                _check_tables(self.engine, safe_url)
            if not read_only:
                _create_tables(self.engine)
        except StoreError:
            self.engine.dispose()
            raise
        except Exception as exc:
            self.engine.dispose()
            raise StoreError(
                f"Cannot open the world database at {safe_url}: {describe_database_error(exc)}"
            ) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, bind: Connection | None = None) -> Session:
        """A session on the engine, or on `bind` (a connection its owner holds)."""
        return Session(bind if bind is not None else self.engine, expire_on_commit=False)

    def held_connection(self) -> Connection | None:
        """A connection for one simulation to hold while it lives, where connections are
        cheap and unlimited (a SQLite file), or on PostgreSQL while fewer than
        `POSTGRES_POOL_SIZE` of this store's simulations hold one; None elsewhere (one
        pooled connection per transaction: a store shared by hundreds of episodes keeps
        its pool for them). A held PostgreSQL connection saves a pool checkout and
        checkin per step (~70 us of a ~330 us get_balance step); one that died while
        held fails its next step, which is rolled back and retried on a new connection
        (StepNotSaved, "dropped"), as a pooled one that died unpinged does."""
        if self.dialect == "postgresql":
            return self._held_postgres_connection()
        if not isinstance(self.engine.pool, QueuePool) or self.dialect != "sqlite":
            return None
        return self.engine.connect()

    def _held_postgres_connection(self) -> Connection | None:
        with self._holding:
            if sum(not connection.closed for connection in self._held) >= POSTGRES_POOL_SIZE:
                return None
            connection = self.engine.connect()
            self._held.add(connection)
            return connection

    def dispose(self) -> None:
        self.engine.dispose()

    # -- episodes -------------------------------------------------------------------

    def get_episode(self, episode_id: int) -> Episode:
        with self.session() as session:
            episode = session.get(Episode, episode_id)
            if episode is None:
                raise StoreError(f"Expected an existing episode id, got {episode_id}")
            return episode

    def list_episodes(self) -> list[Episode]:
        with self.session() as session:
            return list(session.scalars(select(Episode).order_by(Episode.id)))

    def fork(self, episode_id: int, *, seed: int | None = None) -> int:
        """Copy every row of an episode into a new episode; return the new id.

        The copy continues exactly as the original would (its generators are derived
        from the same seed and clock) unless a new `seed` is given to branch the future.
        """
        with self.engine.begin() as conn:
            source = (
                conn.execute(select(Episode.__table__).where(Episode.id == episode_id))
                .mappings()
                .first()
            )
            if source is None:
                raise StoreError(f"Expected an existing episode id to fork, got {episode_id}")
            row = {k: v for k, v in source.items() if k != "id"}
            row["parent_episode_id"] = episode_id
            row["forked_at_step"] = source["step_count"]
            if seed is not None:
                row["seed"] = seed
            new_id = conn.execute(insert(Episode.__table__).values(**row)).inserted_primary_key[0]
            for table in WORLD_TABLES:
                columns = [c for c in table.columns if c.name != "episode_id"]
                copied = select(literal(int(new_id), Integer).label("episode_id"), *columns).where(
                    table.c.episode_id == episode_id
                )
                conn.execute(
                    table.insert().from_select(["episode_id", *[c.name for c in columns]], copied)
                )
        return int(new_id)

    snapshot = fork

    # -- leases: one process runs an episode at a time ------------------------------

    def claim_episode(self, episode_id: int) -> str:
        """Take the episode's lease for this process, or raise `EpisodeBusy` naming the
        process that holds it. A lease whose process is gone (same host, dead pid) or
        that was not renewed for `LEASE_TTL_S` (another host) is taken over. This
        process may hold it several times (several envs on one episode). Returns the
        owner the lease names (`lease_owner()`), for `fence_step`."""
        me = lease_owner()
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # one claimer at a time
            elif self.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LEASE_LOCK_KEY})")
            held = (
                conn.execute(
                    select(EpisodeLease.__table__).where(EpisodeLease.episode_id == episode_id)
                )
                .mappings()
                .first()
            )
            now = time.time()
            if held is not None and held["owner"] != me and _lease_is_live(held, now):
                raise EpisodeBusy(
                    f"Expected episode {episode_id} to be free, got it running in another "
                    f"process ({held['owner']}, last seen {now - held['renewed_at']:.0f} s ago): "
                    "wait for it to end or stop it, then resume"
                )
            conn.execute(
                EpisodeLease.__table__.delete().where(EpisodeLease.episode_id == episode_id)
            )
            conn.execute(
                insert(EpisodeLease.__table__).values(
                    episode_id=episode_id, owner=me, renewed_at=now
                )
            )
            conn.commit()
        return me

    def fence_step(self, connection: Any, episode_id: int, owner: str | None = None) -> None:
        """Inside the step's transaction, before its commit: renew the lease of `owner`
        (the name `claim_episode` returned; default: this process's `lease_owner()`),
        or raise `LeaseLost` if the lease was handed over (`hand_over_leases`) or taken.
        The lease's time is moved on only when it is `LEASE_RENEW_EVERY_S` old (well
        inside `LEASE_TTL_S`); in between the row is matched and left as it is.

        The UPDATE locks the lease row until the step commits (on SQLite: takes the
        write lock, renewing or not), so a hand-over waits for
        a step in flight and the next step of the old holder finds the lease gone; that
        is the fence (the write of a lost holder is refused, not merely late). An episode
        with no lease row at all (this process released it, e.g. a sibling env closed)
        steps on unfenced, as before.

        On PostgreSQL the fence is one statement that fails when the lease is held by
        another, which aborts the whole transaction: inside `step_batch` it travels with
        the step's other statements and costs no round trip of its own."""
        now = time.time()
        values = {
            "lease_episode": episode_id,
            "lease_owner": owner or lease_owner(),
            "now": now,
            "renew_before": now - LEASE_RENEW_EVERY_S,
        }
        dialect = connection.dialect
        fence = self._fences.get(dialect)
        if fence is None:
            fence = self._fences[dialect] = (
                _fence_statement(dialect)
                if dialect.name == "postgresql"
                else _renew_statement(dialect)
            )
        # through the driver: SQLAlchemy's per-statement work would cost more than the UPDATE
        if fence.run(connection, values) == 1 or fence.refusal is not None:
            return  # (PostgreSQL's fence raises LeaseLost itself; batched, it answers -1)
        holder = connection.execute(
            select(EpisodeLease.owner).where(EpisodeLease.episode_id == episode_id)
        ).scalar()
        if holder is not None:
            raise _lease_lost(episode_id, holder)

    @staticmethod
    def fence_values(owner: str | None = None) -> dict[str, Any]:
        """The values `LEASE_NEEDS_NO_STATEMENT` reads (`lease_owner`, `renew_before`),
        for `owner` (default: this process's `lease_owner()`)."""
        return {
            "lease_owner": owner or lease_owner(),
            "renew_before": time.time() - LEASE_RENEW_EVERY_S,
        }

    def hand_over_leases(self, owner: str) -> list[int]:
        """Free every lease `owner` holds (a process declared dead, e.g. a lost Ray actor)
        so that another process may continue its episodes at once, without waiting out
        `LEASE_TTL_S`. Returns the episodes. The lease rows stay, marked handed over, so
        that `fence_step` refuses any later step of that owner should it still live."""
        with self.engine.begin() as conn:
            held = conn.execute(
                select(EpisodeLease.episode_id).where(EpisodeLease.owner == owner)
            ).scalars()
            episodes = sorted(held)
            if episodes:
                conn.execute(
                    EpisodeLease.__table__.update()
                    .where(EpisodeLease.owner == owner)
                    .values(owner=f"{HANDED_OVER}{owner}"[:300], renewed_at=0.0)
                )
        return episodes

    def release_episode(self, episode_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                EpisodeLease.__table__.delete().where(
                    EpisodeLease.episode_id == episode_id, EpisodeLease.owner == lease_owner()
                )
            )

    def delete_episode(self, episode_id: int) -> None:
        with self.engine.begin() as conn:
            for table in reversed(WORLD_TABLES):
                conn.execute(table.delete().where(table.c.episode_id == episode_id))
            conn.execute(Episode.__table__.delete().where(Episode.id == episode_id))
            conn.execute(
                EpisodeLease.__table__.delete().where(EpisodeLease.episode_id == episode_id)
            )

    def state_hash(self, episode_id: int) -> str:
        """A canonical SHA-256 of an episode's world state.

        Independent of the episode id, of row order and of the database: rows are
        rendered as sorted JSON and the lines sorted. The trajectory (steps, behaviour
        events) and bookkeeping (ids, names, timestamps, step counter) are left out.
        """
        digest = hashlib.sha256()
        with self.engine.connect() as conn:
            episode = conn.execute(
                select(
                    Episode.seed,
                    Episode.env_id,
                    Episode.scenario,
                    Episode.day,
                    Episode.minute,
                    Episode.status,
                    Episode.unpaid_fee_days,
                    Episode.reputation,
                    Episode.output_tokens_unbilled,
                ).where(Episode.id == episode_id)
            ).first()
            if episode is None:
                raise StoreError(f"Expected an existing episode id to hash, got {episode_id}")
            digest.update(_canonical(dict(episode._mapping)).encode())
            for table in WORLD_TABLES:
                if table.name in TRAJECTORY_TABLES:
                    continue
                rows = conn.execute(
                    select(table).where(table.c.episode_id == episode_id)
                ).mappings()
                lines = sorted(
                    _canonical({k: v for k, v in row.items() if k != "episode_id"}) for row in rows
                )
                digest.update(f"\n#{table.name}:{len(lines)}\n".encode())
                digest.update("\n".join(lines).encode())
        return digest.hexdigest()

    def count_rows(self, episode_id: int) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                table.name: conn.execute(
                    select(func.count()).select_from(table).where(table.c.episode_id == episode_id)
                ).scalar_one()
                for table in WORLD_TABLES
            }


# any fixed number: the PostgreSQL advisory lock that serialises schema creation
SCHEMA_LOCK_KEY = 0x7479636F6F6E
_LEASE_LOCK_KEY = SCHEMA_LOCK_KEY + 1
LEASE_TTL_S = 120.0  # a lease not renewed for this long is free (its process is gone)
# a lease's time is moved on at most this often: a step's fence that finds it fresher
# leaves the row as it is, so that the step's commit writes no page for it (SQLite
# writes no page whose content is unchanged; a rewritten page is one more WAL frame)
LEASE_RENEW_EVERY_S = 10.0
# built once: it runs with every step. It matches the row whenever this process holds
# the lease (the fence's answer, and on PostgreSQL its row lock), renewed or not.
_RENEW_LEASE = (
    EpisodeLease.__table__.update()
    .where(
        EpisodeLease.episode_id == bindparam("lease_episode"),
        EpisodeLease.owner == bindparam("lease_owner"),
    )
    .values(
        renewed_at=case(
            (EpisodeLease.renewed_at <= bindparam("renew_before"), bindparam("now")),
            else_=EpisodeLease.renewed_at,
        )
    )
)


_RENEW_STATEMENTS: dict[tuple[str, str, str], DriverStatement] = {}

# On SQLite a step's commit may fence in the statement it writes anyway, the episode
# counters' UPDATE, run as its transaction's first write (the write lock is the whole
# file's, taken by whichever statement writes first): the row is updated only where
# this condition holds, and one statement fewer runs per step. Where it does not hold
# (the lease is held by another owner, or due for renewal; the UPDATE then writes
# nothing) the caller runs `fence_step`, which renews or refuses as ever, then writes
# the counters. No lease row at all holds it (an episode stepped unfenced, as ever).
# A clause of a statement on `episodes` with the parameters `episode_key` (the
# episode's id) and those of `WorldStore.fence_values`.
# (Core columns: an ORM-enabled select would take the ORM's compiler at the first step)
_LEASE_COLUMNS = EpisodeLease.__table__.c
LEASE_NEEDS_NO_STATEMENT = ~(
    select(_LEASE_COLUMNS.episode_id)
    .where(
        _LEASE_COLUMNS.episode_id == bindparam("episode_key"),
        (_LEASE_COLUMNS.owner != bindparam("lease_owner"))
        | (_LEASE_COLUMNS.renewed_at <= bindparam("renew_before")),
    )
    .exists()
)


def _renew_statement(dialect: Any) -> DriverStatement:
    """`_RENEW_LEASE` compiled once per driver."""
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    statement = _RENEW_STATEMENTS.get(key)
    if statement is None:
        statement = _RENEW_STATEMENTS[key] = DriverStatement(_RENEW_LEASE, dialect)
    return statement


# PostgreSQL's fence, one UPDATE of the episode's lease row: this owner's lease is
# renewed (when `LEASE_RENEW_EVERY_S` old, as on SQLite); another's fails on a cast that names the holder (plain SQL has no RAISE), which
# aborts the step's transaction; no lease row at all updates nothing, no error. (One plain
# UPDATE costs the server ~10 us less a step than a CTE that renews, then looks.)
_FENCE_MARK = "tycoon lease fence: episode "
_LEASES = EpisodeLease.__table__
_FENCE = (
    _LEASES.update()
    .where(_LEASES.c.episode_id == bindparam("lease_episode"))
    .values(
        renewed_at=case(
            (
                (_LEASES.c.owner == bindparam("lease_owner"))
                & (_LEASES.c.renewed_at <= bindparam("renew_before")),
                bindparam("now"),
            ),
            (_LEASES.c.owner == bindparam("lease_owner"), _LEASES.c.renewed_at),
            else_=cast(
                cast(
                    literal_column(f"'{_FENCE_MARK}'", String)
                    + cast(_LEASES.c.episode_id, String)
                    + literal_column("' held by '", String)
                    + _LEASES.c.owner,
                    Integer,
                ),
                Float,
            ),
        )
    )
)
_FENCE_STATEMENTS: dict[tuple[str, str, str], DriverStatement] = {}


def _fence_statement(dialect: Any) -> DriverStatement:
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    if key not in _FENCE_STATEMENTS:
        _FENCE_STATEMENTS[key] = DriverStatement(_FENCE, dialect, refusal=_refused_by_fence)
    return _FENCE_STATEMENTS[key]


def _refused_by_fence(exc: BaseException) -> LeaseLost | None:
    """The fence's failure as `LeaseLost` (None for any other error)."""
    text = str(exc)
    at = text.find(_FENCE_MARK)
    if at < 0:
        return None
    episode, _, holder = text[at + len(_FENCE_MARK) :].partition(" held by ")
    holder = holder.split('"', 1)[0]
    return _lease_lost(int(episode) if episode.isdigit() else episode, holder)


def _lease_lost(episode_id: int | str, holder: str) -> LeaseLost:
    return LeaseLost(
        f"Expected this process ({lease_owner()}) to hold the lease of episode "
        f"{episode_id}, got it held by {holder}: the step was not saved"
    )


HANDED_OVER = "handed over from "  # a freed lease's owner: free, and refused to its old owner
# the host a lease names (default: this machine's name); Ray tests set it per actor to
# stand for another machine, where a lease is free only by hand-over or after its TTL
LEASE_HOST_ENV = "TYCOON_LEASE_HOST"


def lease_owner() -> str:
    """This process: "host:pid"."""
    return _owner_named(_lease_host(), os.getpid())


@functools.lru_cache(maxsize=16)
def _owner_named(host: str, pid: int) -> str:
    # every step's fence names its owner: formatted once per host and process
    return f"{host}:{pid}"


def _lease_host() -> str:
    return os.environ.get(LEASE_HOST_ENV) or _hostname()


@functools.cache
def _hostname() -> str:
    # asked once: every step's fence names its owner, and the call is a system call
    return socket.gethostname()


def _lease_is_live(held: Any, now: float) -> bool:
    host, _, pid = str(held["owner"]).rpartition(":")
    if host == _lease_host() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False  # that process is gone (killed, crashed)
        except PermissionError:
            return True
        return not _is_zombie(int(pid))

    return now - float(held["renewed_at"]) < LEASE_TTL_S


def _is_zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet (e.g. a Ray actor) still answers
    signal 0, but runs nothing: its lease is free."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): trust the signal
    state = stat.rpartition(")")[2].split()[:1]
    return state in (["Z"], ["X"])


def _create_tables(engine: Engine) -> None:
    """Create missing tables, one process at a time.

    Several processes may open a new database at once (rollout workers): without a lock,
    two of them would both see a table missing and both try to create it.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits (busy_timeout) for the writer
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
        Base.metadata.create_all(conn)
        _add_missing_columns(conn)
        conn.commit()


def _check_tables(engine: Engine, safe_url: str) -> None:
    from sqlalchemy import inspect

    with engine.connect() as conn:
        if not inspect(conn).has_table(Episode.__tablename__):
            raise StoreError(
                f"Expected a tycoon database, got {safe_url} without an episodes table"
            )


def _missing_driver(exc: ModuleNotFoundError, safe_url: str) -> MissingDriver:
    module = (exc.name or "").split(".")[0]
    extra = DRIVER_EXTRAS.get(module)
    package = DRIVER_PACKAGES.get(module, module)
    hint = f"pip install 'tycoon[{extra}]'" if extra else f"pip install {package}"
    return MissingDriver(f"{safe_url} needs the {module!r} driver, which is not installed: {hint}")


# what a database failure means, by a fragment of the driver's message; "transient"
# faults (a lock, a dropped connection) are worth retrying, the others are not
_DATABASE_FAULTS = (
    ("database is locked", "locked", "the database is locked by another process"),
    ("readonly database", "read_only", "the database is read-only"),
    ("read-only", "read_only", "the database is read-only"),
    ("disk is full", "full", "the disk is full"),
    ("no space left", "full", "the disk is full"),
    ("unable to open database file", "unopenable", "the database file cannot be opened"),
    ("terminating connection", "dropped", "the database server closed the connection"),
    ("server closed the connection", "dropped", "the database server closed the connection"),
    ("connection is closed", "dropped", "the database server closed the connection"),
    ("consuming input failed", "dropped", "the database server closed the connection"),
    ("connection refused", "refused", "the database server refused the connection"),
)
TRANSIENT_FAULTS = frozenset({"locked", "dropped"})


def classify_database_error(exc: BaseException) -> str | None:
    """The kind of a database failure ("locked", "dropped", "full", "read_only", ...)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    kind = next((kind for needle, kind, _ in _DATABASE_FAULTS if needle in text), None)
    if kind is None and getattr(exc, "connection_invalidated", False):
        return "dropped"  # SQLAlchemy saw the connection die, whatever the driver said
    return kind


def describe_database_error(exc: BaseException) -> str:
    """A database failure in one line: what happened, without SQL or driver noise."""
    original = getattr(exc, "orig", None) or exc
    text = " ".join(str(original).split())
    lowered = text.lower()
    for needle, _kind, meaning in _DATABASE_FAULTS:
        if needle in lowered:
            return f"{meaning} ({text[:200]})"
    return text[:300] or type(original).__name__


def _add_missing_columns(conn: Any) -> None:
    """Add the columns a database made by an older tycoon lacks: nullable ones (newer
    code reads them as absent) and ones with a server default (existing rows take it); a
    missing column that can be neither is an error."""
    existing = inspect(conn)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            default = column.server_default
            if not column.nullable and default is None:
                raise StoreError(
                    f"the database's table {table.name} lacks the column {column.name}, "
                    "which cannot be added to existing rows; use a new database"
                )
            if default is not None:
                arg = default.arg  # type: ignore[attr-defined]
                value = arg if isinstance(arg, str) else arg.compile(dialect=conn.dialect)
                kind += f" NOT NULL DEFAULT {value}" if not column.nullable else f" DEFAULT {value}"
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')


def ledger_balances(session: Session, episode_id: int) -> dict[str, int]:
    """Every account's balance derived from the ledger: money in minus money out."""
    balances: dict[str, int] = {}
    for account, inflow in session.execute(
        select(LedgerEntry.to_account, func.sum(LedgerEntry.amount_cents))
        .where(LedgerEntry.episode_id == episode_id)
        .group_by(LedgerEntry.to_account)
    ):
        balances[account] = balances.get(account, 0) + int(inflow)
    for account, outflow in session.execute(
        select(LedgerEntry.from_account, func.sum(LedgerEntry.amount_cents))
        .where(LedgerEntry.episode_id == episode_id)
        .group_by(LedgerEntry.from_account)
    ):
        balances[account] = balances.get(account, 0) - int(outflow)
    return balances


def _canonical(row: dict[str, Any]) -> str:
    def normalise(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {str(k): normalise(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [normalise(v) for v in value]
        return value

    return json.dumps({k: normalise(v) for k, v in row.items()}, sort_keys=True, default=str)
