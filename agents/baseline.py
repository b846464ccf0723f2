"""BaselineAgent: a competent scripted vending operator that acts only through tools.

Its day, written as a generator that yields one tool call at a time:

- Day 1: read the welcome email, search the web for wholesalers (drinks, snacks), read
  their reviews and ask every well-reviewed one for its full price list (QUOTE: ALL).
- Every morning: read new mail (quotes, offer answers, invoices, deliveries, bounces,
  refund requests), pay invoices (memo = invoice number) and refunds (memo = REF-n),
  look at the machine (sales since yesterday refine its sales estimates), restock slots
  from storage, set prices, collect cash every few days, haggle (OFFER well below the
  list price until the supplier names its final price, then accept it) and reorder
  from the cheapest fair supplier when stock on hand plus on order runs low.
- It buys each product from the cheapest supplier whose reviews are good and whose price
  is not far above typical wholesale (so gouging, bait-and-switch and flaky suppliers are
  avoided); it drops a supplier whose mail bounces (closed), whose paid order is days
  overdue, or whose delivery does not match the invoice, and reorders elsewhere.
- What to sell, and at what price, is planned by `baseline_plan.plan_machine` from what
  the operator knows of its market (`baseline_market.ObservedMarket`): product names and
  wholesale prices from the quotes, prices set from cost, and the sales it sees at the
  machine, which it re-plans from every week. It reads nothing an agent cannot observe.
  `OracleAgent` (`oracle`) is the same operator reading the env's hidden catalog
  (reference prices, elasticities, base sales): an upper reference, not a fair agent.

It takes about 8-12 steps a day and is deterministic given the observations. Pass
`horizon_days` (e.g. 365) to wind stock down before the end, so the bank holds the money.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from tycoon.agents.baseline_books import PurchaseBooks, PurchaseOrder, SupplierBook
from tycoon.agents.baseline_market import (
    CatalogMarket,
    Market,
    ObservedMarket,
    SalesRecord,
)
from tycoon.agents.baseline_plan import MachinePlan, Slot, SlotSpec, plan_machine
from tycoon.envs.vending.actions import ToolCall

SEARCHES = (
    "soda water juice tea sports energy coffee drinks",
    "chips chocolate candy cookies nuts bars crackers snacks",
)
SAFETY_DAYS = 3  # reorder when stock would last less than lead time + this
COVER_DAYS = 14  # order enough for lead time + this many days
FIRST_COVER_DAYS = 7  # the first order, paid from the $500 start
CASH_RESERVE_CENTS = 3_000  # never spend the bank below this on stock
COLLECT_EVERY_DAYS = 3
RESTOCK_COVER = 1.2  # top a slot up when it holds less than this many days of sales
SALES_SMOOTHING = 0.15  # weight of one day's observed sales in the running estimate
DAY_END_MINUTE = 24 * 60
MINUTES = {"memory": 5, "digital": 25, "physical": 75}
WAIT = ToolCall(name="wait_for_next_day")
MAX_STEPS_PER_DAY = 60  # a safety net: never loop within a day
REPLAN_EVERY_DAYS = 7  # an operator that learns its market re-plans this often


@dataclass
class Result:
    """What the env answered to the last call."""

    observation: str
    info: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        return self.info.get("tool_result") or {}

    @property
    def ok(self) -> bool:
        return not self.info.get("invalid_action", False)


class BaselineAgent:
    """A scripted operator: finds suppliers, haggles, orders, stocks, prices, collects."""

    name = "baseline"

    def __init__(self, *, horizon_days: int | None = None) -> None:
        self.horizon_days = horizon_days
        self.reset("", {})

    # -- Agent protocol ---------------------------------------------------------------

    def make_market(self) -> Market:
        return ObservedMarket()

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.market = self.make_market()
        self.books = PurchaseBooks()
        self.plan = MachinePlan()
        self.plan_day = 0
        self.replan_due = False
        self.source: dict[str, str] = {}  # sku -> supplier email
        self.slot_specs: list[SlotSpec] = []
        self.machine: dict[Slot, tuple[str | None, int]] = {}
        self.storage: dict[str, int] = {}
        self.storage_known = True
        self.sales = SalesRecord()
        self.sales_rate: dict[str, float] = self.sales.rate
        self.stock_last_evening: dict[str, int] = {}
        self.prices_set: dict[str, int] = {}
        self.last_collect_day = 0
        self.mail_waiting = True  # the welcome email
        self.info: dict[str, Any] = info
        self._routine: Generator[ToolCall, Result, None] | None = None
        self._routine_day: int | None = None
        self._steps_today = 0

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        self.info = info
        night = info.get("night")
        if night is not None:
            self.mail_waiting = self.mail_waiting or bool(night.get("new_emails"))
            self.storage_known = self.storage_known and not night.get("deliveries")
        if self._routine is None or info.get("day") != self._routine_day:
            self._routine = self._day()
            self._routine_day = info.get("day")
            self._steps_today = 0
            return self._advance(None)
        return self._advance(Result(observation, info))

    def _advance(self, result: Result | None) -> ToolCall:
        assert self._routine is not None
        self._steps_today += 1
        if self._steps_today > MAX_STEPS_PER_DAY:
            return WAIT
        try:
            return next(self._routine) if result is None else self._routine.send(result)
        except StopIteration:
            self._routine_day = self.info.get("day")
            self._routine = _waiting()
            return next(self._routine)

    # -- the day ----------------------------------------------------------------------

    @property
    def day(self) -> int:
        """The day index (0 on the first day; `info["day"]` counts from 1)."""
        return int(self.info.get("day", 1)) - 1

    @property
    def bank_cents(self) -> int:
        return round(float(self.info.get("bank_balance", 0.0)) * 100)

    def _fits(self, kind: str) -> bool:
        hours, minutes = (int(part) for part in str(self.info.get("time", "06:00")).split(":"))
        return hours * 60 + minutes + MINUTES[kind] < DAY_END_MINUTE

    def _day(self) -> Generator[ToolCall, Result, None]:
        if self.mail_waiting:
            yield from self._read_mail()
        if not self.books.suppliers:
            yield from self._find_suppliers()
            return
        if not self.plan.prices and any(s.quoted for s in self.books.suppliers.values()):
            self._make_plan()
        yield from self._pay_invoices()
        yield from self._pay_refunds()
        if not self.plan.prices:
            return
        yield from self._check_machine()
        self.books.check_overdue(self.day)
        self._resource()
        if self.replan_due or (
            self.market.replans and self.day - self.plan_day >= REPLAN_EVERY_DAYS
        ):
            self._make_plan()
        yield from self._restock()
        yield from self._set_prices()
        yield from self._collect_cash()
        yield from self._haggle()
        yield from self._reorder()

    # -- mail -------------------------------------------------------------------------

    def _read_mail(self) -> Generator[ToolCall, Result, None]:
        self.mail_waiting = False
        for _ in range(20):
            if not self._fits("memory"):
                self.mail_waiting = True
                return
            result = yield ToolCall(name="read_inbox", arguments={"limit": 50})
            emails = result.data.get("emails", [])
            for email in emails:
                self.books.handle_email(email, self.day)
            if not emails or "More unread emails remain" not in result.observation:
                break
        self._resource()

    # -- suppliers --------------------------------------------------------------------

    def _find_suppliers(self) -> Generator[ToolCall, Result, None]:
        for query in SEARCHES:
            result = yield ToolCall(name="search_web", arguments={"query": query, "limit": 10})
            self.books.add_search_results(result.observation, result.data.get("results", []))
        for supplier in self.books.suppliers.values():
            if supplier.trusted and self._fits("digital"):
                yield self._email(supplier.email, "Price list request", "QUOTE: ALL")

    def _resource(self) -> None:
        """After a supplier is dropped: the cheapest fair supplier for each planned sku,
        and a new plan if some sku has none left."""
        if not self.books.sourcing_changed or not self.plan.prices:
            return
        self.books.sourcing_changed = False
        lost = False
        for sku in self.plan.skus:
            quotes = self._fair_quotes(sku)
            if quotes:
                self.source[sku] = quotes[0][1]
            else:
                lost = True
        if lost:
            self._make_plan()

    # -- planning ---------------------------------------------------------------------

    def _fair_quotes(self, sku: str) -> list[tuple[int, str]]:
        return self.books.fair_quotes(sku, self.market.cost_ceiling(sku, self.books))

    def _make_plan(self) -> None:
        self.plan_day, self.replan_due = self.day, False
        candidates = []
        for sku in self.market.skus(self.books):
            quotes = self._fair_quotes(sku)
            if quotes:
                candidates.append(self.market.candidate(sku, quotes[0][0], self.books, self.sales))
        if not self.slot_specs:
            self.slot_specs = [
                SlotSpec(row, col, "small" if row <= 2 else "large", 15 if row <= 2 else 8)
                for row in range(1, 5)
                for col in range(1, 4)
            ]
        keep = {slot: sku for slot, (sku, units) in self.machine.items() if sku and units > 0}
        self.plan = plan_machine(candidates, self.slot_specs, keep)
        for sku in self.plan.skus:
            self.source[sku] = self._fair_quotes(sku)[0][1]
            self.sales_rate.setdefault(sku, self.plan.daily_sales[sku])

    # -- money ------------------------------------------------------------------------

    def _pay_invoices(self) -> Generator[ToolCall, Result, None]:
        for order in self.books.orders:
            if order.status != "invoiced":
                continue
            if order.total_cents > self.bank_cents or not self._fits("digital"):
                continue
            result = yield ToolCall(
                name="send_payment",
                arguments={
                    "to_account": order.account,
                    "amount": order.total_cents / 100,
                    "memo": order.number,
                },
            )
            if result.ok:
                order.status, order.day = "paid", self.day

    def _pay_refunds(self) -> Generator[ToolCall, Result, None]:
        for reference, (account, cents) in list(self.books.refunds_due.items()):
            if cents > self.bank_cents or not self._fits("digital"):
                continue
            yield ToolCall(
                name="send_payment",
                arguments={"to_account": account, "amount": cents / 100, "memo": reference},
            )
            # paid or refused (e.g. already expired): either way it is settled for us
            del self.books.refunds_due[reference]
            self.books.refunds_paid.add(reference)

    def _collect_cash(self) -> Generator[ToolCall, Result, None]:
        cash = float(self.info.get("machine_cash", 0.0))
        last_day = self.horizon_days is not None and self.day >= self.horizon_days - 1
        due = self.day - self.last_collect_day >= COLLECT_EVERY_DAYS or last_day
        low_bank = self.bank_cents < CASH_RESERVE_CENTS * 2
        if cash > 0 and (due or low_bank) and self._fits("physical"):
            yield ToolCall(name="collect_cash")
            self.last_collect_day = self.day

    # -- machine ----------------------------------------------------------------------

    def _check_machine(self) -> Generator[ToolCall, Result, None]:
        result = yield ToolCall(name="get_machine_inventory")
        in_machine: dict[str, int] = {}
        for slot in result.data.get("slots", []):
            key = (int(slot["row"]), int(slot["col"]))
            sku, units = slot.get("sku"), int(slot.get("quantity", 0))
            self.machine[key] = (sku, units)
            if sku:
                in_machine[sku] = in_machine.get(sku, 0) + units
        self._learn_sales(in_machine)
        if not self.storage_known:
            result = yield ToolCall(name="get_storage_inventory")
            if result.ok:
                items = result.data.get("items", [])
                self.storage = {str(item["sku"]): int(item["quantity"]) for item in items}
                self.storage_known = True
                for item in items:  # the listing shows sizes: re-plan if one was guessed wrong
                    news = self.market.note_size(str(item["sku"]), str(item.get("size", "")))
                    self.replan_due |= news and str(item["sku"]) in self.plan.prices

    def _learn_sales(self, in_machine: dict[str, int]) -> None:
        for sku, evening in self.stock_last_evening.items():
            if sku not in self.sales_rate or evening <= 0:
                continue
            now = in_machine.get(sku, 0)
            sold = max(0, evening - now)
            rate = self.sales_rate[sku]
            if now > 0 or sold > rate:  # a sell-out only tells us demand was at least this
                self.sales_rate[sku] = (1 - SALES_SMOOTHING) * rate + SALES_SMOOTHING * sold
                self.sales.days[sku] = self.sales.days.get(sku, 0) + 1
                if sku in self.prices_set:
                    self.sales.price[sku] = self.prices_set[sku]
        self.stock_last_evening = dict(in_machine)

    def _restock(self) -> Generator[ToolCall, Result, None]:
        capacity = {spec.key: spec.capacity for spec in self.slot_specs}
        wanted = []
        for slot, sku in self.plan.slots.items():
            held, units = self.machine.get(slot, (None, 0))
            if held not in (None, sku) and units > 0:
                continue  # still selling out an old product
            room = capacity[slot] - (units if held == sku else 0)
            threshold = max(3, math.ceil(capacity[slot] / 3))
            if room >= threshold or units < RESTOCK_COVER * self.sales_rate.get(sku, 0.0):
                wanted.append((-room, slot, sku))
        for _, slot, sku in sorted(wanted):
            if self.storage.get(sku, 0) <= 0 or not self._fits("physical"):
                continue
            held, units = self.machine.get(slot, (None, 0))
            room = capacity[slot] - (units if held == sku else 0)
            if room <= 0:  # full, though selling faster than it is refilled
                continue
            result = yield ToolCall(
                name="stock_machine",
                arguments={"sku": sku, "quantity": room, "row": slot[0], "col": slot[1]},
            )
            if result.ok:
                moved = int(result.data.get("moved", 0))
                self.storage[sku] = self.storage.get(sku, 0) - moved
                self.machine[slot] = (sku, (units if held == sku else 0) + moved)
                self.stock_last_evening[sku] = self.stock_last_evening.get(sku, 0) + moved
            else:
                self.storage_known = False

    def _set_prices(self) -> Generator[ToolCall, Result, None]:
        stocked = {sku for sku, units in self.machine.values() if sku and units > 0}
        for sku, price in self.plan.prices.items():
            current = self.prices_set.get(sku, self.market.default_price(sku))
            if sku in stocked and price != current and self._fits("digital"):
                result = yield ToolCall(
                    name="set_price", arguments={"sku": sku, "price": price / 100}
                )
                if result.ok:
                    self.prices_set[sku] = price

    # -- buying -----------------------------------------------------------------------

    def _position(self, sku: str) -> int:
        in_machine = sum(units for held, units in self.machine.values() if held == sku)
        return self.storage.get(sku, 0) + in_machine + self.books.on_order(sku)

    def _days_left(self) -> float:
        if self.horizon_days is None:
            return math.inf
        return self.horizon_days - self.day

    def _haggle(self) -> Generator[ToolCall, Result, None]:
        for email in sorted(set(self.source.values())):
            if not self._fits("digital"):
                return
            skus = [sku for sku, source in self.source.items() if source == email]
            lines = self.books.offer_lines(email, skus)
            if lines:
                yield self._email(email, "Price offer", "OFFER: " + ", ".join(lines))

    def _reorder(self) -> Generator[ToolCall, Result, None]:
        days_left = self._days_left()
        budget = self.bank_cents - CASH_RESERVE_CENTS - self.books.committed_cents()
        first_order = not any(o.status != "abandoned" for o in self.books.orders)
        cover = FIRST_COVER_DAYS if first_order else COVER_DAYS
        for email in sorted(set(self.source.values())):
            supplier = self.books.suppliers[email]
            if self.books.orders_of(email, "requested") or not self._fits("digital"):
                continue
            lead = supplier.lead_days + 2  # invoice tomorrow, pay, then the lead time
            if days_left < lead + 2:
                continue
            skus = [sku for sku, source in self.source.items() if source == email]
            rates = {sku: max(self.sales_rate.get(sku, 0.0), 0.2) for sku in skus}
            short = [sku for sku in skus if self._position(sku) < rates[sku] * (lead + SAFETY_DAYS)]
            if not short:
                continue
            horizon = min(lead + cover, days_left)
            lines: dict[str, int] = {}
            for sku in skus:
                want = math.ceil(rates[sku] * horizon) - self._position(sku)
                if want > 0 and (sku in short or want >= rates[sku] * cover / 2):
                    lines[sku] = max(want, supplier.min_order_units)
            lines = self._fit_budget(supplier, lines, budget)
            if not lines:
                continue
            cost = sum(units * supplier.prices[sku] for sku, units in lines.items())
            budget -= cost
            self.books.orders.append(PurchaseOrder(email, lines, day=self.day))
            body = "ORDER: " + ", ".join(f"{sku} x {units}" for sku, units in lines.items())
            yield self._email(email, "Order", body)

    def _fit_budget(
        self, supplier: SupplierBook, lines: dict[str, int], budget: int
    ) -> dict[str, int]:
        cost = sum(units * supplier.prices[sku] for sku, units in lines.items())
        if cost <= budget:
            return lines
        if budget <= 0:
            return {}
        scale = budget / cost
        fitted = {
            sku: math.floor(units * scale)
            for sku, units in lines.items()
            if math.floor(units * scale) >= supplier.min_order_units
        }
        return fitted

    def _email(self, to: str, subject: str, body: str) -> ToolCall:
        return ToolCall(name="send_email", arguments={"to": to, "subject": subject, "body": body})


class OracleAgent(BaselineAgent):
    """The baseline operator reading the env's hidden catalog (reference prices, price
    elasticities, base daily sales, typical wholesale costs), which no agent can observe:
    an upper reference for what the scripted operator could make, not a fair agent."""

    name = "oracle"

    def make_market(self) -> Market:
        return CatalogMarket()


def _waiting() -> Generator[ToolCall, Result, None]:
    while True:
        yield WAIT
