"""VendingWorld: one episode's world, read and changed through one SQL session.

Tools and the overnight simulation work through this class, never through raw SQL. It
keeps the rows a step touches in memory (the session's identity map, plus indexes by sku
and account), so a step reads nothing it already knows and writes only what changed; the
environment commits once per step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from tycoon.envs.vending.config import VendingConfig
from tycoon.envs.vending.hooks import NO_HOOKS, WorldHooks
from tycoon.envs.vending.randomness import stream_generator
from tycoon.envs.world.driver_sql import DriverStatement
from tycoon.envs.world.schema import (
    WORLD_TABLES,
    Base,
    CustomerRequest,
    Email,
    Episode,
    LedgerEntry,
    MachineSlot,
    Order,
    Price,
    Product,
    StorageItem,
    Supplier,
)
from tycoon.envs.world.store import ledger_balances

RowT = TypeVar("RowT", bound=Base)

# the operator's own accounts: net worth counts these
BANK = "bank"
MACHINE_CASH = "machine_cash"
CARD_CLEARING = "card_clearing"
OWNER = "owner"
CUSTOMERS = "customers"
FEES = "fees"

MINUTES_PER_DAY = 24 * 60
OPEN_ORDER_STATUSES = ("invoiced", "paid", "shipped")


class WorldError(Exception):
    """An action the world refuses; the message is shown to the agent."""


class VendingWorld:
    def __init__(self, session: Session, episode: Episode, config: VendingConfig) -> None:
        self.session = session
        self.episode = episode
        self.config = config
        # the episode's probes (a ProbeRuntime, set by the simulation); None without probes.
        # The world itself only calls `hooks`, which are the probes or no-ops (hooks.py).
        self.probes: Any = None
        self.hooks: WorldHooks = NO_HOOKS
        # seam for a market of several operators (tycoon.envs.arena.operators.MarketHooks):
        # payees and mail addresses of other operators, and shared supplier stock; None
        # outside an arena
        self.market: Any = None
        # optional: words supplier replies (e.g. an LLM); called as
        # reply_writer(world, profile, email, decision) -> decision with a new reply_body
        self.reply_writer: Callable[..., Any] | None = None
        # rows staged or inserted so far (Core inserts leave no trace in the session, so a
        # refused action's writes are found by this count; see VendingSimulation)
        self.rows_written = 0
        self._staged_inserts: dict[str, DriverStatement] = {}
        self.reload()

    # -- loading --------------------------------------------------------------------

    def reload(self) -> None:
        """(Re)build the in-memory indexes from the database."""
        s, eid = self.session, self.episode.id
        self.episode = s.get(Episode, eid, populate_existing=True)  # type: ignore[assignment]
        self.products: dict[str, Product] = {
            p.sku: p
            for p in s.scalars(
                select(Product).where(Product.episode_id == eid).order_by(Product.id)
            )
        }
        self.prices: dict[str, Price] = {
            p.sku: p for p in s.scalars(select(Price).where(Price.episode_id == eid))
        }
        self.slots: list[MachineSlot] = list(
            s.scalars(
                select(MachineSlot).where(MachineSlot.episode_id == eid).order_by(MachineSlot.id)
            )
        )
        self.storage: dict[str, StorageItem] = {
            item.sku: item
            for item in s.scalars(select(StorageItem).where(StorageItem.episode_id == eid))
        }
        self.suppliers: dict[int, Supplier] = {
            sup.id: sup for sup in s.scalars(select(Supplier).where(Supplier.episode_id == eid))
        }
        self._balances: dict[str, int] = defaultdict(int, ledger_balances(s, eid))
        # orders still in flight and open refund requests: the night reads them every day
        self.open_orders: dict[int, Order] = {
            order.id: order
            for order in s.scalars(
                select(Order)
                .where(Order.episode_id == eid, Order.status.in_(OPEN_ORDER_STATUSES))
                .order_by(Order.id)
            )
        }
        self.open_requests: dict[int, CustomerRequest] = {
            request.id: request
            for request in s.scalars(
                select(CustomerRequest)
                .where(CustomerRequest.episode_id == eid, CustomerRequest.status == "open")
                .order_by(CustomerRequest.id)
            )
        }
        # supplier profiles are fixed for the episode: built once, on first use
        self.supplier_profiles: dict[int, Any] = {}
        # overnight, mail is stamped with the morning it is found in the inbox
        self.mail_stamp: tuple[int, int] | None = None
        # a hint that spares the overnight query for unanswered mail on quiet days
        self.mail_waiting = True
        # rows staged for the step's commit (a rollback drops them with the reload)
        self._staged: dict[str, tuple[Any, list[dict[str, object]]]] = {}
        self._next_ids: dict[str, int] = {}
        for table in WORLD_TABLES:
            top = s.execute(
                select(func.max(table.c.id)).where(table.c.episode_id == eid)
            ).scalar_one()
            self._next_ids[table.name] = (top or 0) + 1

    # -- rows -----------------------------------------------------------------------

    def add(self, row: RowT) -> RowT:
        """Give a new row its episode and local id and stage it for the step's commit."""
        table = row.__tablename__
        row.episode_id = self.episode.id  # type: ignore[attr-defined]
        row.id = self._next_ids[table]  # type: ignore[attr-defined]
        self._next_ids[table] += 1
        self.rows_written += 1
        self.session.add(row)
        return row

    def insert_rows(self, model: type[Base], rows: list[dict[str, object]]) -> None:
        """Insert many rows at once through Core (no ORM objects: an order of magnitude
        faster for rows nobody reads back in the same step)."""
        if rows:
            self.session.connection().execute(insert(self._numbered(model, rows)), rows)

    def stage_rows(self, model: type[Base], rows: list[dict[str, object]]) -> None:
        """Like `insert_rows`, for rows nothing reads back in SQL during a step (ledger
        entries, sales): kept until the step's commit, then written with one executemany
        per table (`write_staged`)."""
        if rows:
            table = self._numbered(model, rows)
            self._staged.setdefault(table.name, (table, []))[1].extend(rows)

    def _numbered(self, model: type[Base], rows: list[dict[str, object]]) -> Any:
        """Give new rows their episode and the table's next local ids; returns the table."""
        table = model.__table__
        first = self._next_ids[table.name]
        for offset, row in enumerate(rows):
            row["episode_id"] = self.episode.id
            row["id"] = first + offset
        self._next_ids[table.name] = first + len(rows)
        self.rows_written += len(rows)
        return table

    def write_staged(self, connection: Connection) -> None:
        """Write the staged rows, one precompiled executemany per table."""
        for name, (table, rows) in self._staged.items():
            statement = self._staged_inserts.get(name)
            if statement is None:
                statement = DriverStatement(insert(table), connection.dialect)
                self._staged_inserts[name] = statement
            statement.run(connection, rows)
        self._staged = {}

    def add_all(self, rows: Iterable[Base]) -> None:
        for row in rows:
            self.add(row)

    # -- clock ----------------------------------------------------------------------

    @property
    def day(self) -> int:
        return self.episode.day

    @property
    def minute(self) -> int:
        return self.episode.minute

    def set_clock(self, day: int, minute: int) -> None:
        """Move the clock. Written by the step's commit (a Core UPDATE with the other
        counters), so the ORM is told the value is already persisted."""
        set_committed_value(self.episode, "day", day)
        set_committed_value(self.episode, "minute", minute)

    def clock_text(self) -> str:
        date = self.config.start_date.toordinal() + self.day
        from datetime import date as _date

        today = _date.fromordinal(date)
        hours, minutes = divmod(self.minute, 60)
        return f"Day {self.day + 1} ({today:%a %Y-%m-%d}) {hours:02d}:{minutes:02d}"

    def rng(self, stream: str, *extra: int) -> np.random.Generator:
        """A generator for one purpose on one day, derived from the episode's seed.

        Deriving instead of carrying one generator forward means the seed and the clock
        are the whole random state: a resumed or forked episode draws the same numbers,
        and what one subsystem draws never shifts what another draws. One PCG64 sequence
        per (seed, stream), entered at the day's window (`envs/vending/randomness.py`).
        """
        return stream_generator(self.episode.seed, stream, self.day, extra)

    # -- money ----------------------------------------------------------------------

    def balance(self, account: str) -> int:
        return self._balances.get(account, 0)

    def transfer(
        self, from_account: str, to_account: str, amount_cents: int, kind: str, memo: str = ""
    ) -> None:
        if amount_cents <= 0:
            raise WorldError(f"Expected a positive amount, got {amount_cents / 100:.2f}")
        row = {
            "day": self.day,
            "minute": self.minute,
            "from_account": from_account,
            "to_account": to_account,
            "amount_cents": amount_cents,
            "kind": kind,
            "memo": memo[:256],
        }
        # ledger rows are written, never read back within a step: staged, not ORM objects
        self.stage_rows(LedgerEntry, [row])
        self._balances[from_account] -= amount_cents
        self._balances[to_account] += amount_cents

    def inventory_value_cents(self) -> int:
        storage = sum(i.quantity * i.unit_cost_cents for i in self.storage.values())
        machine = sum(s.quantity * s.unit_cost_cents for s in self.slots)
        return storage + machine

    def net_worth_cents(self) -> int:
        """Cash in the bank, in the machine and in card settlement, plus stock at cost,
        less what is owed to the bank (loans exist only with the credit probe)."""
        return (
            self.balance(BANK)
            + self.balance(MACHINE_CASH)
            + self.balance(CARD_CLEARING)
            + self.inventory_value_cents()
            - self.hooks.loans_outstanding_cents()
        )

    # -- goods ----------------------------------------------------------------------

    def product(self, sku: str) -> Product:
        product = self.products.get(sku)
        if product is None:
            raise WorldError(f"Unknown product {sku!r}. {self.sku_hint(sku)}")
        return product

    def sku_hint(self, sku: str) -> str:
        import difflib

        close = difflib.get_close_matches(str(sku), list(self.products), n=3)
        if close:
            return "Did you mean: " + ", ".join(close) + "?"
        return "Product ids look like 'cola-can-12oz'; search_web lists suppliers and products."

    def orders_with_status(self, status: str) -> list[Order]:
        return [order for order in self.open_orders.values() if order.status == status]

    def close_order(self, order: Order, status: str) -> None:
        order.status = status
        self.open_orders.pop(order.id, None)

    def add_to_storage(self, sku: str, quantity: int, unit_cost_cents: int) -> None:
        item = self.storage.get(sku)
        if item is None:
            item = self.add(StorageItem(sku=sku, quantity=0, unit_cost_cents=unit_cost_cents))
            self.storage[sku] = item
        total_cost = item.quantity * item.unit_cost_cents + quantity * unit_cost_cents
        item.quantity += quantity
        item.unit_cost_cents = round(total_cost / item.quantity) if item.quantity else 0

    def price_of(self, sku: str) -> int:
        price = self.prices.get(sku)
        return price.price_cents if price else self.products[sku].reference_price_cents

    def set_price(self, sku: str, price_cents: int) -> None:
        price = self.prices.get(sku)
        if price is None:
            self.prices[sku] = self.add(Price(sku=sku, price_cents=price_cents))
        else:
            price.price_cents = price_cents

    # -- email ----------------------------------------------------------------------

    def deliver_email(self, sender: str, subject: str, body: str) -> Email:
        """Put an email in the operator's inbox, stamped with the current clock."""
        day, minute = self.mail_stamp or (self.day, self.minute)
        return self.add(
            Email(
                folder="inbox",
                sender=sender,
                recipient=self.config.operator_email,
                subject=subject[:256],
                body=body,
                day=day,
                minute=minute,
            )
        )

    def mark_read(self, email_ids: list[int]) -> None:
        """One UPDATE for all, instead of one per ORM object at flush."""
        if not email_ids:
            return
        self.session.connection().execute(
            update(Email)
            .where(Email.episode_id == self.episode.id, Email.id.in_(email_ids))
            .values(is_read=True)
        )
        for email_id in email_ids:
            email = self.session.get(Email, (self.episode.id, email_id))
            if email is not None:
                set_committed_value(email, "is_read", True)

    def supplier_by_email(self, address: str) -> Supplier | None:
        address = address.strip().lower()
        for supplier in self.suppliers.values():
            if supplier.email == address:
                return supplier
        return None

    def supplier_by_account(self, account: str) -> Supplier | None:
        for supplier in self.suppliers.values():
            if supplier.payment_account == account:
                return supplier
        return None

    # -- bookkeeping ----------------------------------------------------------------

    def next_local_id(self, table: str) -> int:
        return self._next_ids[table]

    def emails_added_since(self, first_email_id: int) -> int:
        """Emails added since the id was next; overnight, only the inbox receives mail."""
        return self._next_ids["emails"] - first_email_id
