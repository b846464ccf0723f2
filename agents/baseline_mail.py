"""Reading the mail the baseline gets: supplier replies, deliveries, bounces, refunds.

Small, forgiving regexes over the email formats of `tycoon.envs.vending.supplier_protocol`,
`supplier_desk` and `customers`: a line that does not match is skipped, never an error.
Each parser returns None (or an empty result) when the email is not of its kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MONEY = r"\$\s*([0-9][0-9,]*(?:\.[0-9]{1,2})?)"
_SKU = r"([a-z0-9]+(?:[-_.][a-z0-9]+)*)"

_QUOTE_ROW = re.compile(
    rf"^\s*-\s*{_SKU}\s*\(([^\n]*?)\):\s*{_MONEY}", re.IGNORECASE | re.MULTILINE
)
_MINIMUM = re.compile(r"minimum(?: order)?(?: of)?:?\s*([0-9]+)\s*units", re.IGNORECASE)
_DELIVERY_DAYS = re.compile(r"about\s+([0-9]+)\s+days", re.IGNORECASE)
_OFFER_ROW = re.compile(rf"^\s*-\s*{_SKU}\s*\([^\n]*?\):\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_ACCEPTED = re.compile(rf"accepted at\s*{_MONEY}", re.IGNORECASE)
_COUNTER = re.compile(rf"we can offer\s*{_MONEY}", re.IGNORECASE)
_FINAL = re.compile(rf"cannot go below\s*{_MONEY}", re.IGNORECASE)
_INVOICE_NUMBER = re.compile(r"\bINV-[0-9]+\b", re.IGNORECASE)
_INVOICE_ROW = re.compile(
    rf"^\s*-\s*{_SKU}\s*\([^\n]*?\)\s*x\s*([0-9]+)\s*@\s*{_MONEY}", re.IGNORECASE | re.MULTILINE
)
_TOTAL = re.compile(rf"total(?: due)?:?\s*{_MONEY}", re.IGNORECASE)
_ACCOUNT = re.compile(r"\baccount\s+([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])", re.IGNORECASE)
_DELIVERED_ITEM = re.compile(rf"{_SKU}\s+x\s+([0-9]+)", re.IGNORECASE)
_REFUND_ID = re.compile(r"\bREF-[0-9]+\b", re.IGNORECASE)
_BOUNCE = re.compile(r"message to\s+(\S+?@\S+?)\s+could not be delivered:\s*(.*)", re.IGNORECASE)
_RATING = re.compile(r"reviews?\s*([0-9](?:\.[0-9])?)\s*/\s*5", re.IGNORECASE)
_EMAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def cents(text: str) -> int:
    return round(float(text.replace(",", "")) * 100)


@dataclass
class QuoteReply:
    prices: dict[str, int] = field(default_factory=dict)  # sku -> unit cents
    names: dict[str, str] = field(default_factory=dict)  # sku -> product name
    min_order_units: int | None = None
    lead_days: int | None = None


@dataclass
class OfferAnswer:
    kind: str  # "accepted", "counter" or "final"
    unit_cents: int


@dataclass
class Invoice:
    number: str
    account: str
    total_cents: int
    lines: dict[str, int] = field(default_factory=dict)  # sku -> units
    unit_cents: dict[str, int] = field(default_factory=dict)


@dataclass
class Delivery:
    invoice: str
    contents: dict[str, int] = field(default_factory=dict)


@dataclass
class RefundRequest:
    reference: str
    account: str
    amount_cents: int


def parse_quote(body: str) -> QuoteReply:
    reply = QuoteReply()
    for match in _QUOTE_ROW.finditer(body):
        sku = match.group(1).lower()
        reply.prices.setdefault(sku, cents(match.group(3)))
        reply.names.setdefault(sku, match.group(2).strip())
    if minimum := _MINIMUM.search(body):
        reply.min_order_units = int(minimum.group(1))
    if days := _DELIVERY_DAYS.search(body):
        reply.lead_days = int(days.group(1))
    return reply


def parse_offer_answers(body: str) -> dict[str, OfferAnswer]:
    """Per sku: accepted at a price, countered with a price, or a final (lowest) price."""
    answers: dict[str, OfferAnswer] = {}
    for match in _OFFER_ROW.finditer(body):
        sku, rest = match.group(1).lower(), match.group(2)
        for kind, pattern in (("accepted", _ACCEPTED), ("counter", _COUNTER), ("final", _FINAL)):
            found = pattern.search(rest)
            if found:
                answers[sku] = OfferAnswer(kind, cents(found.group(1)))
                break
    return answers


def parse_invoice(subject: str, body: str) -> Invoice | None:
    if "invoice" not in subject.lower():
        return None
    number = _INVOICE_NUMBER.search(subject) or _INVOICE_NUMBER.search(body)
    total = _TOTAL.search(body)
    account = _ACCOUNT.search(body)
    if not (number and total and account):
        return None
    invoice = Invoice(
        number=number.group(0).upper(),
        account=account.group(1),
        total_cents=cents(total.group(1)),
    )
    for row in _INVOICE_ROW.finditer(body):
        sku = row.group(1).lower()
        invoice.lines[sku] = invoice.lines.get(sku, 0) + int(row.group(2))
        invoice.unit_cents[sku] = cents(row.group(3))
    return invoice


def parse_delivery(subject: str, body: str) -> Delivery | None:
    if "delivered" not in subject.lower():
        return None
    number = _INVOICE_NUMBER.search(subject)
    if number is None:
        return None
    delivery = Delivery(invoice=number.group(0).upper())
    # the contents follow the storage address, which ends with the first ": "
    _, _, contents = body.partition(": ")
    for item in _DELIVERED_ITEM.finditer(contents.split("\n", 1)[0]):
        sku = item.group(1).lower()
        delivery.contents[sku] = delivery.contents.get(sku, 0) + int(item.group(2))
    return delivery


def parse_refund_request(subject: str, body: str) -> RefundRequest | None:
    reference = _REFUND_ID.search(subject) or _REFUND_ID.search(body)
    account = re.search(r"\b(cust-[0-9]+)\b", body)
    amount = re.search(rf"refund\s*{_MONEY}", body, re.IGNORECASE) or re.search(_MONEY, body)
    if not (reference and account and amount):
        return None
    return RefundRequest(reference.group(0).upper(), account.group(1), cents(amount.group(1)))


def parse_bounce(body: str) -> tuple[str, str] | None:
    """(address, reason) of an undeliverable-mail notice."""
    match = _BOUNCE.search(body)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2).strip()


def parse_ratings(search_text: str) -> dict[str, float]:
    """Review score per supplier email from search results ("Reviews 4.6/5")."""
    ratings: dict[str, float] = {}
    for block in re.split(r"\n\s*\n", search_text):
        address = _EMAIL.search(block)
        rating = _RATING.search(block)
        if address and rating:
            ratings[address.group(1).lower()] = float(rating.group(1))
    return ratings
