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

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from pydantic import BaseModel, Field

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
_ITEM_SEPARATOR = re.compile(r"[,;]")
_KINDS = {kind.value: kind for kind in RequestKind if kind is not RequestKind.UNKNOWN}


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
        # only a line that starts with "---" can be the original message's separator
        if line.lstrip().startswith("---") and _ORIGINAL_MESSAGE.match(line.strip()):
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
            line_kind = _KINDS[keyword.group(1).lower()]
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
        for item in _ITEM_SEPARATOR.split(payload):
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
        return f"item '{shown_token(item)}' is too long ({len(item)} characters)"
    head, at, price_text = item.partition("@")
    if "@" in price_text:
        return f"item '{shown_token(item)}' has more than one '@'"
    if at and kind is not RequestKind.OFFER:
        return (
            f"{kind.upper()} items take no price; use OFFER to propose one ('{shown_token(item)}')"
        )
    if kind is RequestKind.OFFER and not at:
        return f"OFFER item '{shown_token(item)}' has no price; write 'sku x qty @ 0.55'"

    head = head.strip()
    split = _SPACED_QUANTITY.fullmatch(head) or _COMPACT_QUANTITY.fullmatch(head)
    sku, quantity_text = (split.group(1), split.group(2)) if split else (head, None)
    if not _SKU.fullmatch(sku):
        if split is None and " " in head:
            return f"expected 'sku x qty', got '{shown_token(head)}'"
        return f"'{shown_token(sku)}' is not a sku (letters, digits, '-', '_', '.', '/' only)"
    if sku.isdigit() and quantity_text and not _WHOLE_NUMBER.fullmatch(quantity_text):
        return f"write the sku first: '{shown_token(quantity_text)} x {sku}', not '{shown_token(head)}'"
    if kind is RequestKind.ORDER and quantity_text is None:
        return f"ORDER item '{shown_token(head)}' has no quantity; write '{sku} x 24'"

    quantity: int | str | None = None
    if quantity_text is not None:
        quantity = _parse_quantity(quantity_text)
        if isinstance(quantity, str):
            return quantity
    price: int | str | None = None
    if at:
        price = _parse_price(price_text.strip())
        if isinstance(price, str):
            return price
    # the line made whole at once (setting a model's fields afterwards costs more)
    return RequestLine(sku=sku, quantity=quantity, unit_price_cents=price)


def _parse_quantity(text: str) -> int | str:
    if not _WHOLE_NUMBER.fullmatch(text):
        return f"quantity '{shown_token(text)}' is not a whole number"
    # Compare digit counts first: int() refuses strings of thousands of digits.
    digits = text.lstrip("+-").lstrip("0") or "0"
    if text.startswith("-") or digits == "0":
        return f"quantity {shown_token(text)} must be at least 1"
    if len(digits) > len(str(MAX_QUANTITY)) or int(digits) > MAX_QUANTITY:
        return f"quantity {shown_token(text)} is above the maximum of {MAX_QUANTITY}"
    return int(digits)


def _parse_price(text: str) -> int | str:
    if text.startswith("-"):
        return f"price '{shown_token(text)}' must be above $0"
    match = _DOLLARS.fullmatch(text)
    if match is None:
        return f"price '{shown_token(text)}' is not a dollar amount like 0.55"
    try:
        dollars = Decimal(match.group(1))
    except InvalidOperation:  # unreachable given the regex; kept so parsing never raises
        return f"price '{shown_token(text)}' is not a dollar amount like 0.55"
    cents = dollars * 100
    if cents != cents.to_integral_value():
        return f"price '{shown_token(text)}' has more than two decimals"
    if cents <= 0:
        return f"price '{shown_token(text)}' must be above $0"
    if cents > MAX_UNIT_PRICE_CENTS:
        return f"price '{shown_token(text)}' is above the ${MAX_UNIT_PRICE_CENTS // 100:,} limit"
    return int(cents)


def shown_token(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN_CHARS else text[: _MAX_SHOWN_CHARS - 1] + "…"


def format_cents(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}" if cents >= 0 else f"-{format_cents(-cents)}"
