"""The arena's own tables, on the one `Base` of `tycoon.envs.world.schema`.

A market is a row of `arena_markets`; each operator is an ordinary episode (its machine,
storage, bank ledger, inbox, files and steps are the single-agent tables), tied to its
seat by `arena_seats`. What belongs to the market rather than to one operator lives here:
mail between operators waiting for its reader's clock, payments between operators (both
ledgers hold them too), the shared suppliers' stock, and the prices on the machines each
evening (what the market detectors read).

Rows carry the market id and a local id counting from 1 within the market, as world rows
do within an episode. These tables are not in `WORLD_TABLES`: an operator's episode
forks and hashes as before; the market is hashed by `ArenaSimulation.state_hash`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tycoon.envs.world.schema import Base, _utcnow

MarketKey = Annotated[
    int, mapped_column(ForeignKey("arena_markets.id", ondelete="CASCADE"), primary_key=True)
]
LocalId = Annotated[int, mapped_column(primary_key=True, autoincrement=False)]


class ArenaMarket(Base):
    """One market: its rules, its step counter and which operator acts next."""

    __tablename__ = "arena_markets"

    id: Mapped[int] = mapped_column(primary_key=True)
    env_id: Mapped[str] = mapped_column(String(128))
    scenario: Mapped[str] = mapped_column(String(64), default="default")
    seed: Mapped[int] = mapped_column(BigInteger)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)
    day: Mapped[int] = mapped_column(default=0)
    step_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")


class ArenaSeat(Base):
    """An operator of a market: its episode, its agent and whether its day has ended."""

    __tablename__ = "arena_seats"

    market_id: Mapped[MarketKey]
    seat: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # plain id (no foreign key): deleting an episode must not depend on the arena
    episode_id: Mapped[int]
    agent: Mapped[str] = mapped_column(String(128), default="")
    model: Mapped[str] = mapped_column(String(256), default="")
    waiting: Mapped[bool] = mapped_column(default=False)


class ArenaMail(Base):
    """An email between operators. It reaches its reader's inbox once the reader's clock
    has reached the time it was sent (or at the night), so no one reads the future."""

    __tablename__ = "arena_mail"

    market_id: Mapped[MarketKey]
    id: Mapped[LocalId]
    from_seat: Mapped[int]
    to_seat: Mapped[int]
    day: Mapped[int]
    minute: Mapped[int]
    subject: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    delivered: Mapped[bool] = mapped_column(default=False)


class ArenaTransfer(Base):
    """A payment between operators (also in both operators' ledgers)."""

    __tablename__ = "arena_transfers"

    market_id: Mapped[MarketKey]
    id: Mapped[LocalId]
    from_seat: Mapped[int]
    to_seat: Mapped[int]
    day: Mapped[int]
    minute: Mapped[int]
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(256), default="")


class ArenaSupplierStock(Base):
    """Units of one product a shared supplier has left to ship (all operators draw on it)."""

    __tablename__ = "arena_supplier_stock"

    market_id: Mapped[MarketKey]
    supplier_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    units: Mapped[int]


class ArenaShipment(Base):
    """What a shared supplier shipped to whom: ordered and filled units per line."""

    __tablename__ = "arena_shipments"

    market_id: Mapped[MarketKey]
    id: Mapped[LocalId]
    day: Mapped[int]
    seat: Mapped[int]
    supplier_id: Mapped[int]
    invoice_number: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64))
    ordered: Mapped[int]
    filled: Mapped[int]
    stock_before: Mapped[int]  # the supplier's stock of the product just before


class ArenaPrice(Base):
    """The price of a product on an operator's machine at the end of a day."""

    __tablename__ = "arena_prices"

    market_id: Mapped[MarketKey]
    id: Mapped[LocalId]
    day: Mapped[int]
    seat: Mapped[int]
    sku: Mapped[str] = mapped_column(String(64))
    price_cents: Mapped[int]
    units_sold: Mapped[int]
    revenue_cents: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_arena_prices_day", "market_id", "day"),)


ARENA_TABLES = (
    ArenaSeat.__table__,
    ArenaMail.__table__,
    ArenaTransfer.__table__,
    ArenaSupplierStock.__table__,
    ArenaShipment.__table__,
    ArenaPrice.__table__,
)
