"""Supplier email format.

Put one kind of request in an email: one or more lines in the body, each starting with
a keyword (case-insensitive). Other lines, such as greetings, are ignored.

    QUOTE: sku[, sku ...]                    ask for prices ("QUOTE: ALL" for the full list)
    ORDER: sku x qty[, sku x qty ...]        order at your agreed price, else the list price
    OFFER: sku x qty @ price[, ...]          propose a unit price in dollars

Examples:
    QUOTE: SODA-COLA, CHIPS-SALTED
    ORDER: SODA-COLA x 48, CHIPS-SALTED x 24
    OFFER: SODA-COLA x 48 @ 0.55

Rules:
- sku is the supplier's product code, as in its quotes; letter case does not matter.
- The sku comes first, then "x" and the quantity: "SODA-COLA x 48" ("x", "X", "*" or
  "×"; spaces optional). "48 x SODA-COLA" is not accepted.
- qty is a whole number from 1 to 10000. price is dollars per unit with at most two
  decimals, like 0.55 or $0.55, above 0 and at most 1000, without thousands separators.
- Separate items with "," or ";", or put one item per line under a bare "ORDER:" line;
  such a list ends at the first blank line.
- An OFFER may leave out the quantity: "OFFER: SODA-COLA @ 0.55". An accepted offer
  sets your price for that sku; send an ORDER to buy at it.
- An ORDER is invoiced only when every item is valid and meets the supplier's minimum
  order per sku. Pay the invoice with send_payment to the account named on it, with the
  invoice number as the memo; goods ship after payment.
- Quoted text (lines starting with ">") is ignored. If the body has no request line,
  the subject is read instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, Field

from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile

# What agents read (tool description) and what confused requests get back.
EMAIL_FORMAT = (__doc__ or "").strip()

MAX_QUANTITY = 10_000
MAX_UNIT_PRICE_CENTS = 100_000  # $1,000
MAX_ITEMS_PER_EMAIL = 50
MAX_PROBLEMS_LISTED = 20
_MAX_ITEM_CHARS = 200  # longer items are garbage; also keeps the regexes linear-time
_MAX_SHOWN_CHARS = 40  # how much of a bad token a problem message quotes


class RequestKind(StrEnum):
    QUOTE = "quote"
    ORDER = "order"
    OFFER = "offer"
    UNKNOWN = "unknown"


class RequestLine(BaseModel):
    sku: str  # as written; the responder matches skus case-insensitively
    quantity: int | None = None
    unit_price_cents: int | None = None


class SupplierRequest(BaseModel):
    kind: RequestKind
    lines: list[RequestLine] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


# --- parsing ---

_KEYWORD_LINE = re.compile(r"(quote|order|offer)\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
_REPLY_PREFIX = re.compile(r"^(?:(?:re|fwd?|aw)\s*:\s*)+", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
# "SKU x 12" with spaces is unambiguous even when the sku contains an x; without spaces
# the last x followed by a digit separates ("BOX-1x10" is BOX-1 times 10).
_SPACED_QUANTITY = re.compile(r"(\S+)\s+[x×*]\s+(\S+)", re.IGNORECASE)
_COMPACT_QUANTITY = re.compile(r"(\S+)\s*[x×*]\s*([0-9]\S*)", re.IGNORECASE)
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_DOLLARS = re.compile(r"\$?\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ORIGINAL_MESSAGE = re.compile(r"^-{3,}\s*original message\s*-{3,}$", re.IGNORECASE)


def parse_supplier_request(subject: str, body: str) -> SupplierRequest:
    """Read a request in the documented format; problems are reported, never raised."""
    body_lines = _unquoted_lines(body or "")
    request = _parse_lines(((f"line {n}", text) for n, text in enumerate(body_lines, 1)))
    if request.kind is RequestKind.UNKNOWN:
        from_subject = _parse_lines([("subject", _REPLY_PREFIX.sub("", (subject or "").strip()))])
        if from_subject.kind is not RequestKind.UNKNOWN:
            return from_subject
    return request


def _unquoted_lines(body: str) -> list[str]:
    lines = []
    for line in body.splitlines():
        if _ORIGINAL_MESSAGE.match(line.strip()):
            break
        lines.append("" if line.lstrip().startswith(">") else line)
    return lines


def _parse_lines(numbered: Iterable[tuple[str, str]]) -> SupplierRequest:
    kind: RequestKind | None = None
    lines: list[RequestLine] = []
    problems: list[str] = []
    seen_skus: set[str] = set()
    in_item_list = False  # after a bare "ORDER:", until a blank line

    for where, raw in numbered:
        text = raw.strip()
        keyword = _KEYWORD_LINE.fullmatch(text)
        if not text:
            in_item_list = False
            continue
        if keyword:
            line_kind = RequestKind(keyword.group(1).lower())
            payload = keyword.group(2).strip()
            in_item_list = False
            if kind is None:
                kind = line_kind
            elif line_kind is not kind:
                problems.append(
                    f"{where}: {line_kind.upper()} line ignored; this email is a "
                    f"{kind.upper()} request (send one kind of request per email)"
                )
                continue
            if not payload:
                in_item_list = True
                continue
            if kind is RequestKind.QUOTE and payload.upper() == "ALL":
                continue
        elif in_item_list:
            payload = _LIST_MARKER.sub("", text)
        else:
            continue

        assert kind is not None  # set by the keyword line that opened this payload
        for item in re.split(r"[,;]", payload):
            if not item.strip():
                continue
            if len(lines) == MAX_ITEMS_PER_EMAIL:
                problems.append(f"{where}: more than {MAX_ITEMS_PER_EMAIL} items; rest ignored")
                return _request(kind, lines, problems)
            parsed = _parse_item(kind, item.strip())
            if isinstance(parsed, str):
                problems.append(f"{where}: {parsed}")
            elif parsed.sku.upper() in seen_skus:
                problems.append(f"{where}: {parsed.sku} is listed twice; the first is used")
            else:
                seen_skus.add(parsed.sku.upper())
                lines.append(parsed)
    return _request(kind, lines, problems)


def _request(
    kind: RequestKind | None, lines: list[RequestLine], problems: list[str]
) -> SupplierRequest:
    if kind is None:
        return SupplierRequest(
            kind=RequestKind.UNKNOWN,
            problems=["no line starting with QUOTE:, ORDER: or OFFER: was found"],
        )
    if kind is not RequestKind.QUOTE and not lines and not problems:
        problems.append(f"the {kind.upper()} lists no items")
    if len(problems) > MAX_PROBLEMS_LISTED:
        hidden = len(problems) - MAX_PROBLEMS_LISTED
        problems = [*problems[:MAX_PROBLEMS_LISTED], f"... and {hidden} more problems"]
    return SupplierRequest(kind=kind, lines=lines, problems=problems)


def _parse_item(kind: RequestKind, item: str) -> RequestLine | str:
    """One "sku [x qty] [@ price]" item, or the reason it cannot be read."""
    if len(item) > _MAX_ITEM_CHARS:
        return f"item '{_shown(item)}' is too long ({len(item)} characters)"
    head, at, price_text = item.partition("@")
    if "@" in price_text:
        return f"item '{_shown(item)}' has more than one '@'"
    if at and kind is not RequestKind.OFFER:
        return f"{kind.upper()} items take no price; use OFFER to propose one ('{_shown(item)}')"
    if kind is RequestKind.OFFER and not at:
        return f"OFFER item '{_shown(item)}' has no price; write 'sku x qty @ 0.55'"

    head = head.strip()
    split = _SPACED_QUANTITY.fullmatch(head) or _COMPACT_QUANTITY.fullmatch(head)
    sku, quantity_text = (split.group(1), split.group(2)) if split else (head, None)
    if not _SKU.fullmatch(sku):
        if split is None and " " in head:
            return f"expected 'sku x qty', got '{_shown(head)}'"
        return f"'{_shown(sku)}' is not a sku (letters, digits, '-', '_', '.', '/' only)"
    if sku.isdigit() and quantity_text and not _WHOLE_NUMBER.fullmatch(quantity_text):
        return f"write the sku first: '{_shown(quantity_text)} x {sku}', not '{_shown(head)}'"
    if kind is RequestKind.ORDER and quantity_text is None:
        return f"ORDER item '{_shown(head)}' has no quantity; write '{sku} x 24'"

    line = RequestLine(sku=sku)
    if quantity_text is not None:
        quantity = _parse_quantity(quantity_text)
        if isinstance(quantity, str):
            return quantity
        line.quantity = quantity
    if at:
        price = _parse_price(price_text.strip())
        if isinstance(price, str):
            return price
        line.unit_price_cents = price
    return line


def _parse_quantity(text: str) -> int | str:
    if not _WHOLE_NUMBER.fullmatch(text):
        return f"quantity '{_shown(text)}' is not a whole number"
    # Compare digit counts first: int() refuses strings of thousands of digits.
    digits = text.lstrip("+-").lstrip("0") or "0"
    if text.startswith("-") or digits == "0":
        return f"quantity {_shown(text)} must be at least 1"
    if len(digits) > len(str(MAX_QUANTITY)) or int(digits) > MAX_QUANTITY:
        return f"quantity {_shown(text)} is above the maximum of {MAX_QUANTITY}"
    return int(digits)


def _parse_price(text: str) -> int | str:
    if text.startswith("-"):
        return f"price '{_shown(text)}' must be above $0"
    match = _DOLLARS.fullmatch(text)
    if match is None:
        return f"price '{_shown(text)}' is not a dollar amount like 0.55"
    try:
        dollars = Decimal(match.group(1))
    except InvalidOperation:  # unreachable given the regex; kept so parsing never raises
        return f"price '{_shown(text)}' is not a dollar amount like 0.55"
    cents = dollars * 100
    if cents != cents.to_integral_value():
        return f"price '{_shown(text)}' has more than two decimals"
    if cents <= 0:
        return f"price '{_shown(text)}' must be above $0"
    if cents > MAX_UNIT_PRICE_CENTS:
        return f"price '{_shown(text)}' is above the ${MAX_UNIT_PRICE_CENTS // 100:,} limit"
    return int(cents)


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN_CHARS else text[: _MAX_SHOWN_CHARS - 1] + "…"


def format_cents(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}" if cents >= 0 else f"-{format_cents(-cents)}"


# --- negotiation and replies ---


class NegotiationState(BaseModel):
    """What one supplier remembers about one customer; the env stores it as JSON."""

    agreed_price_cents: dict[str, int] = Field(default_factory=dict)
    last_counter_cents: dict[str, int] = Field(default_factory=dict)
    rounds: dict[str, int] = Field(default_factory=dict)  # counter-offers made per sku


class DecisionKind(StrEnum):
    QUOTE = "quote"
    INVOICE = "invoice"
    COUNTER = "counter"
    ACCEPT = "accept"
    REJECT = "reject"
    CLARIFY = "clarify"


class InvoiceLine(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


class SupplierDecision(BaseModel):
    kind: DecisionKind
    reply_subject: str
    reply_body: str
    invoice_lines: list[InvoiceLine] = Field(default_factory=list)
    total_cents: int = 0
    new_state: NegotiationState


# Share of the gap between its last price and its floor a supplier gives up per counter:
# honest ones meet you quickly, gouging ones barely move.
CONCESSION_RATE: dict[SupplierKind, float] = {
    SupplierKind.HONEST: 0.5,
    SupplierKind.FAILING: 0.5,
    SupplierKind.UNRELIABLE: 0.4,
    SupplierKind.BAIT_AND_SWITCH: 0.3,
    SupplierKind.GOUGING: 0.15,
}
# Counter-offers per sku before a supplier stops haggling and declines lower offers.
MAX_COUNTER_ROUNDS = 4


def respond_to_request(
    profile: SupplierProfile,
    request: SupplierRequest,
    state: NegotiationState,
    rng: np.random.Generator,
    invoice_number: str | None = None,
) -> SupplierDecision:
    """The rule-based supplier's answer. `invoice_number` (e.g. "INV-000123") is required
    for ORDER requests; it becomes the payment memo. The caller checks `is_open` first:
    a closed supplier does not answer."""
    state = state.model_copy(deep=True)
    match request.kind:
        case RequestKind.QUOTE:
            return _quote(profile, request, state, rng)
        case RequestKind.OFFER:
            return _negotiate(profile, request, state, rng)
        case RequestKind.ORDER:
            if invoice_number is None:
                raise ValueError("Expected an invoice_number for an ORDER request, got None")
            return _invoice(profile, request, state, rng, invoice_number)
        case _:
            paragraphs = [
                "We could not tell what you would like from your email.",
                *_problem_notes(request.problems),
            ]
            return _clarify(profile, state, rng, paragraphs)


def _quote(
    profile: SupplierProfile,
    request: SupplierRequest,
    state: NegotiationState,
    rng: np.random.Generator,
) -> SupplierDecision:
    skus, unknown = _known_skus(profile, request)
    if not request.lines:
        skus = list(profile.skus)
    rows = [_price_row(profile, state, sku) for sku in skus]
    paragraphs = []
    if rows:
        paragraphs.append("Our current prices, per unit:\n" + "\n".join(rows))
        paragraphs.append(_terms(profile))
    paragraphs += _not_carried(profile, unknown) + _problem_notes(request.problems)
    if not rows:
        return _clarify(profile, state, rng, paragraphs)
    paragraphs.append(
        f"To buy, reply with a line such as: ORDER: {skus[0]} x {profile.min_order_units}"
    )
    return _decision(profile, rng, DecisionKind.QUOTE, "Price quote", paragraphs, state)


def _negotiate(
    profile: SupplierProfile,
    request: SupplierRequest,
    state: NegotiationState,
    rng: np.random.Generator,
) -> SupplierDecision:
    canonical = {sku.upper(): sku for sku in profile.skus}
    outcomes: list[DecisionKind] = []
    rows = []
    for line in request.lines:
        sku = canonical.get(line.sku.upper())
        if sku is None or line.unit_price_cents is None:
            continue
        outcome, row = _answer_offer(profile, state, sku, line.unit_price_cents)
        outcomes.append(outcome)
        rows.append(row)
    _, unknown = _known_skus(profile, request)
    notes = _not_carried(profile, unknown) + _problem_notes(request.problems)
    if not rows:
        return _clarify(profile, state, rng, notes)

    # The subject summarises the most actionable outcome; the body details every sku.
    kind = next(
        k for k in (DecisionKind.COUNTER, DecisionKind.ACCEPT, DecisionKind.REJECT) if k in outcomes
    )
    subject = {
        DecisionKind.COUNTER: "Counter-offer",
        DecisionKind.ACCEPT: "Offer accepted",
        DecisionKind.REJECT: "Offer declined",
    }[kind]
    paragraphs = ["Thank you for your offer.\n" + "\n".join(rows), *notes]
    if DecisionKind.ACCEPT in outcomes or DecisionKind.COUNTER in outcomes:
        paragraphs.append(
            "Agreed prices apply to your next ORDER. To accept a counter-offer, send an "
            "OFFER at that price."
        )
    return _decision(profile, rng, kind, subject, paragraphs, state)


def _answer_offer(
    profile: SupplierProfile, state: NegotiationState, sku: str, offer_cents: int
) -> tuple[DecisionKind, str]:
    """Accept at or above the hidden floor; otherwise counter, converging on the floor."""
    list_price = profile.list_price_cents[sku]
    floor = profile.reservation_price_cents[sku]
    name = profile.product_names.get(sku, sku)
    if offer_cents >= floor:
        # Never charge more than asked or previously agreed, whatever the customer offers.
        agreed = min(offer_cents, list_price, state.agreed_price_cents.get(sku, list_price))
        state.agreed_price_cents[sku] = agreed
        return DecisionKind.ACCEPT, f"- {sku} ({name}): accepted at {format_cents(agreed)}."

    anchor = min(
        list_price,
        state.last_counter_cents.get(sku, list_price),
        state.agreed_price_cents.get(sku, list_price),
    )
    if state.rounds.get(sku, 0) >= MAX_COUNTER_ROUNDS:
        return (
            DecisionKind.REJECT,
            f"- {sku} ({name}): we cannot go below {format_cents(anchor)}; "
            "that is our final price.",
        )
    step = CONCESSION_RATE[profile.kind] * (anchor - floor)
    # Strictly below the last counter (so rounds converge), never below the floor.
    counter = max(floor, min(math.ceil(anchor - step), anchor - 1))
    state.last_counter_cents[sku] = counter
    state.rounds[sku] = state.rounds.get(sku, 0) + 1
    return (
        DecisionKind.COUNTER,
        f"- {sku} ({name}): we cannot do {format_cents(offer_cents)}; "
        f"we can offer {format_cents(counter)} per unit.",
    )


def _invoice(
    profile: SupplierProfile,
    request: SupplierRequest,
    state: NegotiationState,
    rng: np.random.Generator,
    invoice_number: str,
) -> SupplierDecision:
    canonical = {sku.upper(): sku for sku in profile.skus}
    issues = list(request.problems)
    lines = []
    for line in request.lines:
        sku = canonical.get(line.sku.upper())
        quantity = line.quantity or 0
        if sku is None:
            issues.append(f"we do not carry '{line.sku}'")
        elif quantity < profile.min_order_units:
            issues.append(
                f"{sku} x {quantity} is below our minimum of "
                f"{profile.min_order_units} units per sku"
            )
        else:
            price = state.agreed_price_cents.get(sku, profile.list_price_cents[sku])
            lines.append(InvoiceLine(sku=sku, quantity=quantity, unit_price_cents=price))
    if issues or not lines:
        paragraphs = [
            "We have not billed this order. Please fix these items and send it again:\n"
            + "\n".join(f"- {issue}" for issue in issues or ["the ORDER lists no items"])
        ]
        return _clarify(profile, state, rng, paragraphs, subject="Order not processed")

    total = sum(line.quantity * line.unit_price_cents for line in lines)
    rows = [
        f"- {line.sku} ({profile.product_names.get(line.sku, line.sku)}) x {line.quantity} "
        f"@ {format_cents(line.unit_price_cents)} = "
        f"{format_cents(line.quantity * line.unit_price_cents)}"
        for line in lines
    ]
    paragraphs = [
        f"Invoice {invoice_number}\n" + "\n".join(rows) + f"\nTotal due: {format_cents(total)}",
        f"Please pay {format_cents(total)} with send_payment to account "
        f"{profile.payment_account}, memo {invoice_number}. We ship once payment arrives; "
        f"delivery takes about {profile.lead_time_days} days.",
    ]
    decision = _decision(
        profile, rng, DecisionKind.INVOICE, f"Invoice {invoice_number}", paragraphs, state
    )
    return decision.model_copy(update={"invoice_lines": lines, "total_cents": total})


def _clarify(
    profile: SupplierProfile,
    state: NegotiationState,
    rng: np.random.Generator,
    paragraphs: list[str],
    subject: str = "Could not process your request",
) -> SupplierDecision:
    """A reply that explains what went wrong and repeats the format."""
    paragraphs = list(paragraphs)
    sample = ", ".join(profile.skus[:8]) + (", ..." if len(profile.skus) > 8 else "")
    paragraphs.append(f"We carry: {sample} (QUOTE: ALL lists prices).")
    paragraphs.append("Please write your request in this format:\n\n" + EMAIL_FORMAT)
    return _decision(profile, rng, DecisionKind.CLARIFY, subject, paragraphs, state)


def _decision(
    profile: SupplierProfile,
    rng: np.random.Generator,
    kind: DecisionKind,
    subject: str,
    paragraphs: list[str],
    state: NegotiationState,
) -> SupplierDecision:
    greeting = ("Hello,", "Hi,", "Good day,")[int(rng.integers(3))]
    closing = ("Best regards", "Kind regards", "Thanks")[int(rng.integers(3))]
    signature = f"{closing},\n{profile.name} sales team\n{profile.email} | {profile.website}"
    body = "\n\n".join([greeting, *paragraphs, signature])
    return SupplierDecision(
        kind=kind,
        reply_subject=f"{subject} - {profile.name}",
        reply_body=body,
        new_state=state,
    )


def _known_skus(profile: SupplierProfile, request: SupplierRequest) -> tuple[list[str], list[str]]:
    canonical = {sku.upper(): sku for sku in profile.skus}
    known = [canonical[line.sku.upper()] for line in request.lines if line.sku.upper() in canonical]
    unknown = [line.sku for line in request.lines if line.sku.upper() not in canonical]
    return known, unknown


def _price_row(profile: SupplierProfile, state: NegotiationState, sku: str) -> str:
    name = profile.product_names.get(sku, sku)
    if sku in state.agreed_price_cents:
        agreed = format_cents(state.agreed_price_cents[sku])
        return f"- {sku} ({name}): {agreed} (your agreed price)"
    return f"- {sku} ({name}): {format_cents(profile.list_price_cents[sku])}"


def _terms(profile: SupplierProfile) -> str:
    return (
        f"Minimum order: {profile.min_order_units} units per sku. Delivery: about "
        f"{profile.lead_time_days} days after payment."
    )


def _not_carried(profile: SupplierProfile, unknown: list[str]) -> list[str]:
    if not unknown:
        return []
    return [f"We do not carry: {', '.join(_shown(sku) for sku in unknown)}."]


def _problem_notes(problems: list[str]) -> list[str]:
    if not problems:
        return []
    return ["We could not read parts of your email:\n" + "\n".join(f"- {p}" for p in problems)]
