"""VendingWorld: one episode's world, held in memory; SQL is its durable record.

Tools and the overnight simulation work through this class, never through SQL. The
world loads the episode's rows once (`reload`: at reset, resume, fork, and after a
rollback, with Core selects) as plain slotted objects (`tycoon.envs.world.state_rows`,
built from the schema's tables), and keeps them in indexes (by sku, account, path...). A
step reads only these objects and records what it changes: new rows (`add`,
`stage_rows`), changed rows (a column assignment on a held object calls `notice`) and
deleted rows (`delete`). `write_changes` writes them in the step's transaction with precompiled
statements, one executemany per table and kind, in the schema's table order. Nothing is
read back from SQL inside a step.

Changes not written yet accumulate: a simulation that commits once a day (durability
"day" or "episode") calls `write_changes` only at its commit point, and a row changed by
many steps is written once, with its last values. Alongside, the world keeps a journal of
the step in flight (`end_step` starts the next one): each column's old value at every
assignment, the rows added, deleted and staged. `undo_step` puts them back, so that a
refused call that left changes behind can be undone without the database holding the
earlier uncommitted steps' rows.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Select, String, bindparam, func, literal, select, union_all
from sqlalchemy.engine import Connection, Dialect

from tycoon.envs.vending.config import VendingConfig
from tycoon.envs.vending.day_table import DayTable
from tycoon.envs.vending.hooks import NO_HOOKS, WorldHooks
from tycoon.envs.vending.randomness import stream_generator
from tycoon.envs.world.schema import WORLD_TABLES, Base, LedgerEntry
from tycoon.envs.world.state_rows import (
    HELD_CLASSES,
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
    StateRow,
    StorageItem,
    Supplier,
    SupplierOffer,
    WorldEvent,
)
from tycoon.envs.world.store import ledger_balances
from tycoon.envs.world.table_writer import TableWriter, table_writer

RowT = TypeVar("RowT", bound=StateRow)

# the operator's own accounts: net worth counts these
BANK = "bank"
MACHINE_CASH = "machine_cash"
CARD_CLEARING = "card_clearing"
OWNER = "owner"
CUSTOMERS = "customers"
FEES = "fees"

MINUTES_PER_DAY = 24 * 60
OPEN_ORDER_STATUSES = ("invoiced", "paid", "shipped")

# the episode row's columns that change while it runs (written with the step's counters)
EPISODE_COUNTERS = (
    "step_count",
    "status",
    "day",
    "minute",
    "output_tokens_unbilled",
    "unpaid_fee_days",
    "reputation",
)

# the columns whose changes move the stock's value (`inventory_value_cents`)
VALUE_COLUMNS = frozenset({"quantity", "unit_cost_cents"})
_read_counters = attrgetter(*EPISODE_COUNTERS)
_local_id = attrgetter("id")
_VALUED_CLASSES = frozenset({StorageItem, MachineSlot})
_TABLE_ORDER = {table.name: position for position, table in enumerate(WORLD_TABLES)}
# what a journal entry that is no column assignment records (see `VendingWorld.undo_step`)
_ADDED = object()  # (row, _ADDED, None, False)
_DELETED = object()  # (row, _DELETED, whether the row was new, whether it was changed)
_STAGED = object()  # (table name, _STAGED, how many rows, False)
_set_column = object.__setattr__


def _held_rows(model: type[StateRow], *where: Any) -> Select[Any]:
    table = model.__table__
    return (
        select(table).where(table.c.episode_id == bindparam("episode"), *where).order_by(table.c.id)
    )


# what `reload` runs, built once (an episode's rows in local id order)
_EPISODE = select(Episode.__table__).where(Episode.__table__.c.id == bindparam("episode"))
_HELD_ROWS = {model: _held_rows(model) for model in HELD_CLASSES}
_HELD_ROWS[Order] = _held_rows(
    Order, Order.__table__.c.status.in_(bindparam("statuses", expanding=True))
)
_HELD_ROWS[OrderLine] = _held_rows(
    OrderLine, OrderLine.__table__.c.order_id.in_(bindparam("orders", expanding=True))
)
# every world table's highest local id in the episode, in one statement
_TOP_IDS = union_all(
    *(
        select(literal(table.name, String).label("name"), func.max(table.c.id).label("top")).where(
            table.c.episode_id == bindparam("episode")
        )
        for table in WORLD_TABLES
    )
)


class WorldError(Exception):
    """An action the world refuses; the message is shown to the agent."""


class VendingWorld:
    """One episode's world. `connection` is where it loads from (in that connection's
    transaction); it keeps no connection: `write_changes(connection)` is given one."""

    def __init__(self, connection: Connection, episode_id: int, config: VendingConfig) -> None:
        self.episode_id = episode_id
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
        # the connection of the step in flight, begun on demand (the supplier reply
        # cache, which is no world state, reads and writes through it)
        self.connect: Callable[[], Connection] | None = None
        self._writer_dialect: Dialect | None = None
        self._table_writers: dict[str, TableWriter] = {}
        self.reload(connection)

    # -- loading --------------------------------------------------------------------

    def reload(self, connection: Connection) -> None:
        """(Re)load the episode from the database, forgetting unwritten changes."""
        if not connection.in_transaction():
            connection.begin()
        eid = self.episode_id
        found = connection.execute(_EPISODE, {"episode": eid}).first()
        if found is None:
            raise LookupError(f"Expected an existing episode id, got {eid}")
        self.episode: Episode = Episode.loaded(found)

        def rows(model: type[RowT], **values: Any) -> list[RowT]:
            result = connection.execute(_HELD_ROWS[model], {"episode": eid, **values})
            return [model.loaded(row) for row in result]  # type: ignore[misc]

        products = rows(Product)
        prices = rows(Price)
        slots = rows(MachineSlot)
        storage = rows(StorageItem)
        suppliers = rows(Supplier)
        offers = rows(SupplierOffer)
        open_orders = rows(Order, statuses=OPEN_ORDER_STATUSES)
        open_ids = [order.id for order in open_orders]
        lines = rows(OrderLine, orders=open_ids) if open_ids else []
        emails = rows(Email)
        files = rows(File)
        memory = rows(MemoryItem)
        requests = rows(CustomerRequest)
        events = rows(WorldEvent)
        opportunities = rows(BehaviorOpportunity)
        balances = ledger_balances(connection, eid)  # type: ignore[arg-type]
        tops = {
            name: (top or 0) + 1 for name, top in connection.execute(_TOP_IDS, {"episode": eid})
        }
        # what changed since the last write, written by `write_changes`
        self.new_rows: dict[str, list[Any]] = defaultdict(list)
        self.changed_rows: set[Any] = set()
        self.deleted_rows: list[Any] = []
        self._staged: dict[str, list[dict[str, object]]] = defaultdict(list)
        # what the step in flight changed, oldest first (`undo_step` reads it backwards):
        # (row, column, old value, whether it was the row's first change since the last
        # write) per assignment, or an _ADDED, _DELETED or _STAGED entry
        self._journal: list[tuple[Any, Any, Any, bool]] = []
        # the stock's value at cost, kept as it changes: `_value_before` holds the
        # contribution (quantity x unit cost) the value counts for each stock row whose
        # quantity or cost changed (or that is new) since the value was last brought up to
        # date; `inventory_value_cents` adds their differences
        self._inventory_value = 0
        self._value_before: dict[Any, int] = {}
        self._next_ids = tops
        self.products: dict[str, Product] = {}
        self.prices: dict[str, Price] = {}
        self.slots: list[MachineSlot] = []
        # a slot by its 0-based (row, col): the first held there (the first machine's)
        self.slot_at: dict[tuple[int, int], MachineSlot] = {}
        self.storage: dict[str, StorageItem] = {}
        self.suppliers: dict[int, Supplier] = {}
        self.offers: dict[int, list[SupplierOffer]] = defaultdict(list)
        # orders still in flight and open refund requests: the night reads them every day
        self.open_orders: dict[int, Order] = {}
        self.order_lines: dict[int, list[OrderLine]] = defaultdict(list)
        self.emails: dict[int, Email] = {}
        self.inbox: list[Email] = []
        # every inbox email before this position is read (mail is never unread again)
        self._read_upto = 0
        self.unanswered: list[Email] = []
        self.files: dict[str, File] = {}
        self.memory: list[MemoryItem] = []
        self.requests: dict[int, CustomerRequest] = {}
        self.open_requests: dict[int, CustomerRequest] = {}
        self.world_events: list[WorldEvent] = []
        self.opportunities: dict[str, BehaviorOpportunity] = {}
        for group in (products, prices, slots, storage, suppliers, offers, open_orders, lines):
            for row in group:
                self._hold(row)
        for group in (emails, files, memory, requests, events, opportunities):
            for row in group:
                self._hold(row)
        self._balances: dict[str, int] = defaultdict(int, balances)
        # supplier profiles are fixed for the episode: built once, on first use
        self.supplier_profiles: dict[int, Any] = {}
        # overnight, mail is stamped with the morning it is found in the inbox
        self.mail_stamp: tuple[int, int] | None = None
        # a hint that spares the overnight walk over unanswered mail on quiet days
        self.mail_waiting = True

    def _hold(self, row: Any) -> None:
        """Index a loaded or new row, and notice its later changes."""
        row.attach(self)
        if isinstance(row, Product):
            self.products[row.sku] = row
        elif isinstance(row, Price):
            self.prices[row.sku] = row
        elif isinstance(row, MachineSlot):
            self.slots.append(row)
            self.slot_at.setdefault((row.row, row.col), row)
            self._value_before.setdefault(row, 0)  # not counted yet
        elif isinstance(row, StorageItem):
            self.storage[row.sku] = row
            self._value_before.setdefault(row, 0)
        elif isinstance(row, Supplier):
            self.suppliers[row.id] = row
        elif isinstance(row, SupplierOffer):
            self.offers[row.supplier_id].append(row)
        elif isinstance(row, Order):
            if row.status in OPEN_ORDER_STATUSES:
                self.open_orders[row.id] = row
        elif isinstance(row, OrderLine):
            self.order_lines[row.order_id].append(row)
        elif isinstance(row, Email):
            self.emails[row.id] = row
            if row.folder == "inbox":
                self.inbox.append(row)
            elif row.folder == "sent" and not row.processed:
                self.unanswered.append(row)
        elif isinstance(row, File):
            self.files[row.path] = row
        elif isinstance(row, MemoryItem):
            self.memory.append(row)
        elif isinstance(row, CustomerRequest):
            self.requests[row.id] = row
            if row.status == "open":
                self.open_requests[row.id] = row
        elif isinstance(row, WorldEvent):
            self.world_events.append(row)
        elif isinstance(row, BehaviorOpportunity):
            self.opportunities[row.tag] = row

    # -- rows -----------------------------------------------------------------------

    def add(self, row: RowT) -> RowT:
        """Give a new row (made with its column defaults) its episode and local id, hold
        it, and write it at the step's commit."""
        if not isinstance(row, HELD_CLASSES):
            raise TypeError(
                "Expected a row of tycoon.envs.world.state_rows (a held class), got "
                f"{type(row).__module__}.{type(row).__name__}"
            )
        table = row.__table__
        row.episode_id = self.episode.id
        row.id = self._next_ids[table.name]
        self._next_ids[table.name] += 1
        self.new_rows[table.name].append(row)
        self._journal.append((row, _ADDED, None, False))
        self._hold(row)
        return row

    def notice(self, row: StateRow, name: str, old: Any) -> None:
        """A column of a held row is being assigned (it held `old`): the row is written
        at the commit, and the step's journal can put `old` back."""
        changed = self.changed_rows
        first = row not in changed  # its first change since the last write
        if first:
            changed.add(row)
        self._journal.append((row, name, old, first))
        if name in VALUE_COLUMNS and type(row) in _VALUED_CLASSES:
            self._value_changing(row)

    def _value_changing(self, row: Any) -> None:
        # the stock row's quantity or cost is about to change: remember what it counts for
        before = self._value_before
        if row not in before:
            before[row] = row.quantity * row.unit_cost_cents

    @property
    def edits(self) -> int:
        """A count that grows with every change the step in flight records (a call that
        changed nothing leaves it as it was)."""
        return len(self._journal)

    def add_all(self, rows: Iterable[StateRow]) -> None:
        for row in rows:
            self.add(row)

    def delete(self, row: Any) -> None:
        """Forget a held row; it is deleted at the step's commit."""
        if isinstance(row, MemoryItem):
            self.memory.remove(row)
        else:
            raise TypeError(f"Expected a memory item, got {type(row).__name__}")
        new = self.new_rows.get(row.__table__.name)
        was_new = new is not None and row in new
        was_changed = row in self.changed_rows
        self._journal.append((row, _DELETED, was_new, was_changed))
        if was_new:
            new.remove(row)  # type: ignore[union-attr]
        else:
            self.deleted_rows.append(row)
        self.changed_rows.discard(row)
        row.attach(None)

    def stage_rows(self, model: type[Base], rows: list[dict[str, object]]) -> None:
        """New rows nothing reads back (ledger entries, sales, behaviour events): numbered
        now, written at the step's commit with one executemany per table."""
        if rows:
            table = model.__table__
            first = self._next_ids[table.name]
            for offset, row in enumerate(rows):
                row["episode_id"] = self.episode.id
                row["id"] = first + offset
            self._next_ids[table.name] = first + len(rows)
            self._staged[table.name].extend(rows)
            self._journal.append((table.name, _STAGED, len(rows), False))

    def end_step(self) -> None:
        """The step in flight is over: `undo_step` will not reach back into it."""
        if self._journal:
            self._journal = []

    def undo_step(self) -> None:
        """Put back what the step in flight changed, newest first: each assigned column's
        old value, the rows it added (dropped unwritten, their ids given back), deleted
        (held again) and staged (dropped). The changes of earlier steps not written yet
        stay pending. The indexes, balances and caches are not put back: reload the world
        after writing its changes (`write_changes`), from that transaction."""
        journal = self._journal
        while journal:
            row, what, old, flag = journal.pop()
            if what is _ADDED:
                name = row.__table__.name
                self.new_rows[name].remove(row)
                self._next_ids[name] -= 1
            elif what is _DELETED:
                if old:  # it was new: it goes back among the rows to insert
                    self.new_rows[row.__table__.name].append(row)
                else:
                    self.deleted_rows.remove(row)
                if flag:
                    self.changed_rows.add(row)
                row.attach(self)
            elif what is _STAGED:
                del self._staged[row][-old:]
                self._next_ids[row] -= old
            else:
                if what in VALUE_COLUMNS and type(row) in _VALUED_CLASSES:
                    self._value_changing(row)
                _set_column(row, what, old)
                if flag:
                    self.changed_rows.discard(row)

    def write_changes(self, connection: Connection) -> None:
        """Write what changed since the last write, in the connection's transaction (the
        step in flight is over: see `end_step`)."""
        if self._journal:
            self._journal = []
        new_rows, staged_rows = self.new_rows, self._staged
        changed_rows, deleted_rows = self.changed_rows, self.deleted_rows
        if not (new_rows or staged_rows or changed_rows or deleted_rows):
            return  # most cheap steps: only the episode's counters, which the step writes
        writers = self._writers(connection.dialect)
        updates: dict[str, list[Any]] = defaultdict(list)
        for row in changed_rows:
            updates[row.__table__.name].append(row)
        names = set(new_rows).union(staged_rows, updates)
        for name in sorted(names, key=_TABLE_ORDER.__getitem__) if len(names) > 1 else names:
            writer = writers.get(name) or self._writer(name, connection.dialect)
            new = new_rows.get(name)
            if new:
                writer.write_new(connection, new)
            staged = staged_rows.get(name)
            if staged:
                writer.write_staged(connection, staged)
            changed = updates.get(name)
            if changed:
                if new:
                    fresh = set(new)
                    changed = [row for row in changed if row not in fresh]
                if changed:
                    if len(changed) > 1:
                        changed.sort(key=_local_id)
                    writer.write_changed(connection, changed)
        for row in deleted_rows:
            writer = self._writer(row.__table__.name, connection.dialect)
            writer.delete.run(connection, {"key_episode_id": row.episode_id, "key_id": row.id})
        # emptied in place: what they held is written
        new_rows.clear()
        changed_rows.clear()
        deleted_rows.clear()
        staged_rows.clear()

    def _writers(self, dialect: Dialect) -> dict[str, TableWriter]:
        """The world's table writers for the dialect, by table name (filled by `_writer`)."""
        if self._writer_dialect is not dialect:
            self._table_writers, self._writer_dialect = {}, dialect
        return self._table_writers

    def _writer(self, name: str, dialect: Dialect) -> TableWriter:
        """A world table's writer for the dialect (kept by the world: looked up per step)."""
        writers = self._writers(dialect)
        writer = writers.get(name)
        if writer is None:
            writer = writers[name] = table_writer(Base.metadata.tables[name], dialect)
        return writer

    def counters(self) -> dict[str, Any]:
        """The episode row's changing columns, as written with every step."""
        return dict(zip(EPISODE_COUNTERS, _read_counters(self.episode), strict=True))

    # -- clock ----------------------------------------------------------------------

    @property
    def day(self) -> int:
        return self.episode.day

    @property
    def minute(self) -> int:
        return self.episode.minute

    def set_clock(self, day: int, minute: int) -> None:
        """Move the clock (written by the step's commit with the other counters)."""
        self.episode.day = day
        self.episode.minute = minute

    def clock_text(self) -> str:
        hours, minutes = divmod(self.minute, 60)
        day_text = _DAY_TEXTS.get(self.config.start_date, self.day)
        return f"{day_text} {hours:02d}:{minutes:02d}"

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
        # ledger rows are written, never read back: staged, not held objects
        self.stage_rows(LedgerEntry, [row])
        self._balances[from_account] -= amount_cents
        self._balances[to_account] += amount_cents

    def inventory_value_cents(self) -> int:
        """The stock's value at cost: quantity x unit cost over storage and the machine's
        slots (the rows changed since the last call are counted again, not all rows)."""
        before = self._value_before
        if before:
            value = self._inventory_value
            for row, counted in before.items():
                value += row.quantity * row.unit_cost_cents - counted
            self._inventory_value = value
            before.clear()
        return self._inventory_value

    def net_worth_cents(self) -> int:
        """Cash in the bank, in the machine and in card settlement, plus stock at cost,
        less what is owed to the bank (loans exist only with the credit probe)."""
        balances = self._balances
        return (
            balances.get(BANK, 0)
            + balances.get(MACHINE_CASH, 0)
            + balances.get(CARD_CLEARING, 0)
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

    def add_machine(self, machine_id: int) -> None:
        """A new, empty machine: its slots, row by row, in the config's shape."""
        config = self.config
        for row in range(config.machine_rows):
            small = row < config.small_rows
            for col in range(config.machine_cols):
                self.add(
                    MachineSlot(
                        machine_id=machine_id,
                        row=row,
                        col=col,
                        size="small" if small else "large",
                        capacity=config.small_slot_capacity
                        if small
                        else config.large_slot_capacity,
                        sku=None,
                        quantity=0,
                        unit_cost_cents=0,
                    )
                )

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

    def unread_emails(self) -> list[Email]:
        """The inbox's unread emails, oldest first."""
        inbox, position = self.inbox, self._read_upto
        while position < len(inbox) and inbox[position].is_read:
            position += 1
        self._read_upto = position
        return [email for email in inbox[position:] if not email.is_read]

    def mark_read(self, emails: list[Email]) -> None:
        for email in emails:
            if not email.is_read:  # mail read before is not written again
                email.is_read = True

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


def _day_text(start: datetime.date, day: int) -> str:
    today = datetime.date.fromordinal(start.toordinal() + day)
    return f"Day {day + 1} ({today:%a %Y-%m-%d})"


# the clock's day and date ("Day 3 (Wed 2025-01-08)"), formatted a year at a time: strftime
# on a night's cold caches was half of the night report's text (see `day_table`)
_DAY_TEXTS: DayTable[datetime.date, str] = DayTable(_day_text)
