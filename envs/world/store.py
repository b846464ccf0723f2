"""WorldStore: where worlds live. One database holds many episodes.

A SQLite file is the default (WAL journal, synchronous=NORMAL: a step's commit survives a
killed process, and readers never block the writer). PostgreSQL works through its URL,
for many writers at once. The same code runs on both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    create_engine,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from tycoon.envs.world.schema import (
    TRAJECTORY_TABLES,
    WORLD_TABLES,
    Base,
    Episode,
    LedgerEntry,
)


class StoreError(RuntimeError):
    """The database could not be reached or does not hold what was asked for."""


def database_url(db: str | Path) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as a SQLite file)."""
    db = str(db)
    if "://" in db:
        return db
    if db == ":memory:":
        return "sqlite://"
    path = Path(db).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(db: str | Path) -> Engine:
    url = make_url(database_url(db))
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # one shared connection, or every pooled connection would see its own empty
            # in-memory database (and threads would not see each other's)
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            engine = create_engine(url)
        event.listen(engine, "connect", _tune_sqlite)
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=8)
    else:
        engine = create_engine(url)
    return engine


class WorldStore:
    """Owns the engine; creates, forks, hashes and lists episodes."""

    def __init__(self, db: str | Path = "runs/tycoon.db") -> None:
        self.url = database_url(db)
        try:
            self.engine = make_engine(self.url)
            _create_tables(self.engine)
        except Exception as exc:
            safe_url = make_url(self.url).render_as_string(hide_password=True)
            raise StoreError(f"Cannot open the world database at {safe_url}: {exc}") from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

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

    def delete_episode(self, episode_id: int) -> None:
        with self.engine.begin() as conn:
            for table in reversed(WORLD_TABLES):
                conn.execute(table.delete().where(table.c.episode_id == episode_id))
            conn.execute(Episode.__table__.delete().where(Episode.id == episode_id))

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
_SCHEMA_LOCK_KEY = 0x7479636F6F6E


def _create_tables(engine: Engine) -> None:
    """Create missing tables, one process at a time.

    Several processes may open a new database at once (rollout workers): without a lock,
    two of them would both see a table missing and both try to create it.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits (busy_timeout) for the writer
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")
        Base.metadata.create_all(conn)
        _add_missing_columns(conn)
        conn.commit()


def _add_missing_columns(conn: Any) -> None:
    """Add the nullable columns a database made by an older tycoon lacks (newer code
    reads them as absent); a missing column that cannot be null is an error."""
    existing = inspect(conn)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise StoreError(
                    f"the database's table {table.name} lacks the column {column.name}, "
                    "which cannot be added to existing rows; use a new database"
                )
            kind = column.type.compile(dialect=conn.dialect)
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
