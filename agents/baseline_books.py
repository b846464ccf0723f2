"""The baseline's purchasing books: suppliers, their prices, orders and refund requests.

Kept up to date from the mail (`PurchaseBooks.handle_email`) and from what the baseline
pays and orders. It decides whom to trust (good reviews, prices not far above typical
wholesale, no bounced mail, no lost or short orders) and how to haggle: an opening
offer a little under the list price with the first order, then offers well below it
until the supplier names its final price, which is then accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tycoon.agents.baseline_mail import (
    Invoice,
    parse_bounce,
    parse_delivery,
    parse_invoice,
    parse_offer_answers,
    parse_quote,
    parse_ratings,
    parse_refund_request,
)

MIN_RATING = 3.5  # reviews below this warn of short shipments or orders that never come
OPENING_OFFER = 0.92  # first offer, with the first order: most suppliers take it at once
LOWBALL_OFFER = 0.75  # then keep offering this until the supplier names its final price
MAX_LOWBALL_ROUNDS = 6
OVERDUE_DAYS = 4  # days past the promised delivery before an order counts as lost
UNPAID_INVOICE_DAYS = 5  # give up on an invoice we could not pay for this long
OPEN_ORDER_STATUSES = ("requested", "invoiced", "paid")


@dataclass
class SupplierBook:
    """What the baseline knows about one wholesaler."""

    email: str
    name: str
    skus: list[str]
    rating: float | None = None
    prices: dict[str, int] = field(default_factory=dict)  # best known unit cents
    list_prices: dict[str, int] = field(default_factory=dict)
    min_order_units: int = 1
    lead_days: int = 3
    status: str = "ok"  # "ok", "closed" or "distrusted"
    quoted: bool = False
    # negotiation per sku: "opening", "lowball", "accept", "done"
    haggle: dict[str, str] = field(default_factory=dict)
    haggle_rounds: int = 0
    final_offers: dict[str, int] = field(default_factory=dict)
    awaiting_offer_reply: bool = False

    @property
    def trusted(self) -> bool:
        return self.status == "ok" and (self.rating is None or self.rating >= MIN_RATING)


@dataclass
class PurchaseOrder:
    supplier: str
    lines: dict[str, int]
    number: str = ""  # the invoice number once invoiced
    account: str = ""
    total_cents: int = 0
    status: str = "requested"  # requested, invoiced, paid, delivered, lost, abandoned
    day: int = 0  # day of the last status change


class PurchaseBooks:
    """Suppliers, orders and refund requests. `sourcing_changed` is set when a supplier
    is dropped, so the agent can choose new sources."""

    def __init__(self) -> None:
        self.suppliers: dict[str, SupplierBook] = {}
        self.orders: list[PurchaseOrder] = []
        self.refunds_due: dict[str, tuple[str, int]] = {}  # REF-n -> (account, cents)
        self.refunds_paid: set[str] = set()
        self.product_names: dict[str, str] = {}  # sku -> name, as quotes give it
        self.sourcing_changed = False

    # -- what the mail says -----------------------------------------------------------

    def add_search_results(self, observation: str, results: list[dict[str, Any]]) -> None:
        ratings = parse_ratings(observation)
        for hit in results:
            email = str(hit["email"]).lower()
            if email not in self.suppliers:
                self.suppliers[email] = SupplierBook(
                    email=email, name=str(hit["name"]), skus=list(hit.get("skus", []))
                )
            self.suppliers[email].rating = ratings.get(email)

    def handle_email(self, email: dict[str, Any], day: int) -> None:
        sender = str(email.get("sender", "")).lower()
        subject, body = str(email.get("subject", "")), str(email.get("body", ""))
        if sender.startswith("mailer-daemon"):
            bounce = parse_bounce(body)
            if bounce and bounce[0] in self.suppliers:
                self.drop_supplier(bounce[0], "closed")
            return
        if "refund request" in subject.lower():
            request = parse_refund_request(subject, body)
            if request and request.reference not in self.refunds_paid:
                self.refunds_due[request.reference] = (request.account, request.amount_cents)
            return
        supplier = self.suppliers.get(sender)
        if supplier is None:
            return  # the owner, customer complaints: nothing to do
        lowered = subject.lower()
        if delivery := parse_delivery(subject, body):
            self._record_delivery(delivery.invoice, delivery.contents, day)
        elif invoice := parse_invoice(subject, body):
            self._record_invoice(supplier, invoice, day)
        elif lowered.startswith(("counter-offer", "offer accepted", "offer declined")):
            self._record_offer_answers(supplier, body)
        elif lowered.startswith("price quote"):
            self._record_quote(supplier, body)
        elif lowered.startswith("order not processed"):
            quote = parse_quote(body)
            if quote.min_order_units:
                supplier.min_order_units = max(supplier.min_order_units, quote.min_order_units)
            for order in self.orders_of(supplier.email, "requested"):
                order.status = "abandoned"
        elif lowered.startswith("could not process"):
            supplier.awaiting_offer_reply = False

    def _record_quote(self, supplier: SupplierBook, body: str) -> None:
        quote = parse_quote(body)
        supplier.quoted = True
        for sku, name in quote.names.items():
            self.product_names.setdefault(sku, name)
        for sku, cents in quote.prices.items():
            supplier.list_prices.setdefault(sku, cents)
            supplier.prices[sku] = min(cents, supplier.prices.get(sku, cents))
        if quote.min_order_units:
            supplier.min_order_units = quote.min_order_units
        if quote.lead_days:
            supplier.lead_days = quote.lead_days

    def _record_offer_answers(self, supplier: SupplierBook, body: str) -> None:
        supplier.awaiting_offer_reply = False
        for sku, answer in parse_offer_answers(body).items():
            stage = supplier.haggle.get(sku)
            if stage is None:
                continue
            if answer.kind == "accepted":
                supplier.prices[sku] = min(answer.unit_cents, supplier.prices.get(sku, 10**9))
                supplier.haggle[sku] = "lowball" if stage == "opening" else "done"
            elif answer.kind == "final":
                supplier.final_offers[sku] = answer.unit_cents
                supplier.haggle[sku] = "accept"
            elif stage == "opening":
                supplier.haggle[sku] = "lowball"
            elif stage == "accept":
                supplier.haggle[sku] = "done"  # it countered its own final price: stop
        if supplier.haggle_rounds >= MAX_LOWBALL_ROUNDS:
            for sku, stage in supplier.haggle.items():
                if stage == "lowball":
                    supplier.haggle[sku] = "done"

    def _record_invoice(self, supplier: SupplierBook, invoice: Invoice, day: int) -> None:
        requested = self.orders_of(supplier.email, "requested")
        order = requested[0] if requested else PurchaseOrder(supplier.email, dict(invoice.lines))
        if not requested:
            self.orders.append(order)
        order.number, order.account = invoice.number, invoice.account
        order.total_cents, order.status, order.day = invoice.total_cents, "invoiced", day
        if invoice.lines:
            order.lines = dict(invoice.lines)
        for sku, cents in invoice.unit_cents.items():
            supplier.prices[sku] = min(cents, supplier.prices.get(sku, cents))

    def _record_delivery(self, number: str, contents: dict[str, int], day: int) -> None:
        order = next((o for o in self.orders if o.number == number), None)
        if order is None:
            return
        order.status, order.day = "delivered", day
        if contents != order.lines:
            # short-shipped or swapped goods: buy these products elsewhere from now on
            self.drop_supplier(order.supplier, "distrusted")

    # -- trust ------------------------------------------------------------------------

    def drop_supplier(self, email: str, status: str) -> None:
        supplier = self.suppliers[email]
        if supplier.status != "ok":
            return
        supplier.status = status
        self.sourcing_changed = True
        for order in self.orders:
            if order.supplier != email:
                continue
            if order.status in ("requested", "invoiced"):
                order.status = "abandoned"
            elif order.status == "paid" and status == "closed":
                order.status = "lost"

    def check_overdue(self, day: int) -> None:
        """Paid orders long past their delivery date are lost; their supplier dropped."""
        for order in self.orders:
            if order.status == "invoiced" and day - order.day > UNPAID_INVOICE_DAYS:
                order.status = "abandoned"
            if order.status != "paid":
                continue
            if day > order.day + self.suppliers[order.supplier].lead_days + OVERDUE_DAYS:
                order.status = "lost"
                self.drop_supplier(order.supplier, "distrusted")

    def fair_quotes(self, sku: str, ceiling: float | None) -> list[tuple[int, str]]:
        """(unit cents, supplier email) from trusted suppliers at prices up to `ceiling`
        (None: no fair price is known), cheapest first."""
        if ceiling is None:
            return []
        return sorted(
            (supplier.prices[sku], supplier.email)
            for supplier in self.suppliers.values()
            if supplier.trusted and sku in supplier.prices and supplier.prices[sku] <= ceiling
        )

    # -- orders -----------------------------------------------------------------------

    def orders_of(self, supplier: str, *statuses: str) -> list[PurchaseOrder]:
        return [o for o in self.orders if o.supplier == supplier and o.status in statuses]

    def on_order(self, sku: str) -> int:
        return sum(o.lines.get(sku, 0) for o in self.orders if o.status in OPEN_ORDER_STATUSES)

    def lowest_list_price(self, sku: str) -> int | None:
        """The lowest first-quoted unit price of `sku` from any supplier, or None."""
        listed = [s.list_prices[sku] for s in self.suppliers.values() if sku in s.list_prices]
        return min(listed) if listed else None

    def committed_cents(self) -> int:
        """Money already promised: invoices not yet paid, orders not yet invoiced."""
        total = 0
        for order in self.orders:
            if order.status == "invoiced":
                total += order.total_cents
            elif order.status == "requested":
                prices = self.suppliers[order.supplier].prices
                total += sum(units * prices.get(sku, 0) for sku, units in order.lines.items())
        return total

    def offer_lines(self, email: str, skus: list[str]) -> list[str]:
        """This round's OFFER items for a supplier ("sku @ 0.55"), or none."""
        supplier = self.suppliers[email]
        if supplier.awaiting_offer_reply:
            return []
        lines = []
        for sku in skus:
            stage = supplier.haggle.setdefault(sku, "opening")
            listed = supplier.list_prices.get(sku)
            if listed is None or stage == "done":
                continue
            if stage == "opening":
                price = min(round(listed * OPENING_OFFER), supplier.prices[sku])
            elif stage == "lowball":
                price = round(listed * LOWBALL_OFFER)
            else:
                price = supplier.final_offers[sku]
            lines.append(f"{sku} @ {price / 100:.2f}")
        if lines:
            supplier.awaiting_offer_reply = True
            if any(supplier.haggle[sku] == "lowball" for sku in skus):
                supplier.haggle_rounds += 1
        return lines
