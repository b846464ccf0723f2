from __future__ import annotations

import json

import numpy as np
import pytest

from tycoon.envs.vending.supplier_protocol import (
    EMAIL_FORMAT,
    MAX_ITEMS_PER_EMAIL,
    MAX_PROBLEMS_LISTED,
    MAX_QUANTITY,
    MAX_UNIT_PRICE_CENTS,
    RequestKind,
    RequestLine,
    SupplierRequest,
    format_cents,
    parse_supplier_request,
)
from tycoon.envs.vending.supplier_replies import (
    CONCESSION_RATE,
    MAX_COUNTER_ROUNDS,
    DecisionKind,
    NegotiationState,
    respond_to_request,
)
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile

QUOTE, ORDER, OFFER, UNKNOWN = (
    RequestKind.QUOTE,
    RequestKind.ORDER,
    RequestKind.OFFER,
    RequestKind.UNKNOWN,
)

# body -> (kind, [(sku, quantity, unit_price_cents)], [problem substrings])
PARSE_TABLE = [
    (
        "QUOTE: SODA-COLA, CHIPS-SALT",
        QUOTE,
        [("SODA-COLA", None, None), ("CHIPS-SALT", None, None)],
        [],
    ),
    ("quote:soda-cola", QUOTE, [("soda-cola", None, None)], []),
    (
        "  Quote :  SODA-COLA ;CHIPS-SALT  ",
        QUOTE,
        [("SODA-COLA", None, None), ("CHIPS-SALT", None, None)],
        [],
    ),
    ("QUOTE: SODA-COLA x 100", QUOTE, [("SODA-COLA", 100, None)], []),
    ("QUOTE: ALL", QUOTE, [], []),
    ("QUOTE:", QUOTE, [], []),
    (
        "ORDER: SODA-COLA x 48, CHIPS-SALT x 24",
        ORDER,
        [("SODA-COLA", 48, None), ("CHIPS-SALT", 24, None)],
        [],
    ),
    (
        "order: SODA-COLA X48; CHIPS-SALT*24",
        ORDER,
        [("SODA-COLA", 48, None), ("CHIPS-SALT", 24, None)],
        [],
    ),
    ("ORDER: SODA-COLA × 12", ORDER, [("SODA-COLA", 12, None)], []),
    ("ORDER: SODA-COLA x 012", ORDER, [("SODA-COLA", 12, None)], []),
    ("ORDER: BOX-1x10", ORDER, [("BOX-1", 10, None)], []),
    ("ORDER: MAX5x10", ORDER, [("MAX5", 10, None)], []),
    ("ORDER: BOX-1 x 10,", ORDER, [("BOX-1", 10, None)], []),
    (
        "Hi team,\n\nORDER:\n- SODA-COLA x 10\n2) CHIPS-SALT x 5\n\nThanks, Bob",
        ORDER,
        [("SODA-COLA", 10, None), ("CHIPS-SALT", 5, None)],
        [],
    ),
    ("OFFER: SODA-COLA x 48 @ 0.55", OFFER, [("SODA-COLA", 48, 55)], []),
    (
        "OFFER: SODA-COLA x 48 @ $0.55, CHIPS-SALT x 1 @ 2",
        OFFER,
        [("SODA-COLA", 48, 55), ("CHIPS-SALT", 1, 200)],
        [],
    ),
    ("offer: SODA-COLA @ .5", OFFER, [("SODA-COLA", None, 50)], []),
    ("OFFER: SODA-COLA x 1 @ 1000", OFFER, [("SODA-COLA", 1, MAX_UNIT_PRICE_CENTS)], []),
    ("OFFER: SODA-COLA x 1 @ 0.01", OFFER, [("SODA-COLA", 1, 1)], []),
    ("OFFER: SODA-COLA x 10000 @ 0.50", OFFER, [("SODA-COLA", MAX_QUANTITY, 50)], []),
    # Hostile or malformed.
    ("", UNKNOWN, [], ["no line starting with QUOTE:, ORDER: or OFFER:"]),
    ("Hello, please send me some cola.", UNKNOWN, [], ["no line starting"]),
    ("Please ORDER: SODA-COLA x 5", UNKNOWN, [], ["no line starting"]),
    ("> ORDER: SODA-COLA x 5", UNKNOWN, [], ["no line starting"]),
    ("Thanks\n-----Original Message-----\nORDER: SODA-COLA x 5", UNKNOWN, [], ["no line starting"]),
    ("ORDER: SODA-COLA x abc", ORDER, [], ["line 1: quantity 'abc' is not a whole number"]),
    ("Hi\n\nORDER: SODA-COLA x 1.5", ORDER, [], ["line 3: quantity '1.5' is not a whole number"]),
    ("ORDER: SODA-COLA x 0", ORDER, [], ["line 1: quantity 0 must be at least 1"]),
    ("ORDER: SODA-COLA x -5", ORDER, [], ["line 1: quantity -5 must be at least 1"]),
    ("ORDER: SODA-COLA x 10001", ORDER, [], ["quantity 10001 is above the maximum of 10000"]),
    ("ORDER: SODA-COLA x " + "9" * 150, ORDER, [], ["is above the maximum of 10000"]),
    ("ORDER: SODA-COLA x " + "9" * 5000, ORDER, [], ["is too long (5012 characters)"]),
    ("ORDER: SODA-COLA x ５", ORDER, [], ["quantity '５' is not a whole number"]),
    ("ORDER: 48 x SODA-COLA", ORDER, [], ["write the sku first: 'SODA-COLA x 48'"]),
    ("ORDER: SODA-COLA", ORDER, [], ["ORDER item 'SODA-COLA' has no quantity"]),
    ("ORDER: I'd like some cola", ORDER, [], ["expected 'sku x qty', got 'I'd like some cola'"]),
    ("ORDER: Cöla x 5", ORDER, [], ["'Cöla' is not a sku"]),
    ("ORDER: 🥤 x 5", ORDER, [], ["'🥤' is not a sku"]),
    ("ORDER: SODA-COLA x 5 @ 0.50", ORDER, [], ["ORDER items take no price; use OFFER"]),
    ("ORDER:", ORDER, [], ["the ORDER lists no items"]),
    ("ORDER: , ;", ORDER, [], ["the ORDER lists no items"]),
    (
        "ORDER: SODA-COLA x 5, soda-cola x 3",
        ORDER,
        [("SODA-COLA", 5, None)],
        ["soda-cola is listed twice"],
    ),
    (
        "QUOTE: SODA-COLA\nORDER: SODA-COLA x 5",
        QUOTE,
        [("SODA-COLA", None, None)],
        ["line 2: ORDER line ignored"],
    ),
    ("QUOTE: SODA-COLA @ 1", QUOTE, [], ["QUOTE items take no price"]),
    ("OFFER: SODA-COLA x 5", OFFER, [], ["OFFER item 'SODA-COLA x 5' has no price"]),
    ("OFFER: SODA-COLA x 5 @ nan", OFFER, [], ["price 'nan' is not a dollar amount"]),
    ("OFFER: SODA-COLA x 5 @ inf", OFFER, [], ["price 'inf' is not a dollar amount"]),
    ("OFFER: SODA-COLA x 5 @ 1e3", OFFER, [], ["price '1e3' is not a dollar amount"]),
    ("OFFER: SODA-COLA x 5 @ -0.50", OFFER, [], ["price '-0.50' must be above $0"]),
    ("OFFER: SODA-COLA x 5 @ 0", OFFER, [], ["price '0' must be above $0"]),
    ("OFFER: SODA-COLA x 5 @ 0.001", OFFER, [], ["price '0.001' has more than two decimals"]),
    ("OFFER: SODA-COLA x 5 @ 1000.01", OFFER, [], ["price '1000.01' is above the $1,000 limit"]),
    ("OFFER: SODA-COLA x 5 @ 1 @ 2", OFFER, [], ["has more than one '@'"]),
    ("OFFER: SODA-COLA x 5 @", OFFER, [], ["price '' is not a dollar amount"]),
]


@pytest.mark.parametrize(
    ("body", "kind", "lines", "problems"),
    PARSE_TABLE,
    ids=[repr(row[0])[:50] for row in PARSE_TABLE],
)
def test_parse_table(body: str, kind: RequestKind, lines: list, problems: list[str]) -> None:
    request = parse_supplier_request("", body)
    assert request.kind is kind
    assert [(line.sku, line.quantity, line.unit_price_cents) for line in request.lines] == lines
    assert len(request.problems) == len(problems), request.problems
    for found, expected in zip(request.problems, problems, strict=True):
        assert expected in found


@pytest.mark.parametrize(
    ("subject", "body", "kind"),
    [
        ("QUOTE: SODA-COLA", "", QUOTE),
        ("Re: Fwd: ORDER: SODA-COLA x 5", "Hello!", ORDER),
        ("ORDER: SODA-COLA x 5", "QUOTE: SODA-COLA", QUOTE),  # the body wins
        ("Hello", "Nothing here", UNKNOWN),
    ],
)
def test_subject_is_read_when_the_body_has_no_request(subject, body, kind) -> None:
    assert parse_supplier_request(subject, body).kind is kind


HUGE_BODIES = {
    "100 KB of letters": "x" * 100_000,
    "100 KB of newlines": "\n" * 100_000,
    "100 KB item": "ORDER: " + "1x" * 50_000,
    "many items": "ORDER: " + ", ".join(f"SKU-{i} x 1" for i in range(7_000)),
    "many repeats": "ORDER: " + "SODA-COLA x 1, " * 7_000,
    "many bad items": "ORDER: " + "?," * 50_000,
    "many bad lines": "ORDER: ? x ?\n" * 8_000,
    "unicode soup": "OFFER: " + "ü@€×x*;," * 12_000,
    "nul bytes": "ORDER: \x00 x \x00\n" * 1_000,
}


@pytest.mark.parametrize("body", HUGE_BODIES.values(), ids=HUGE_BODIES.keys())
def test_huge_bodies_are_bounded(body: str) -> None:
    request = parse_supplier_request("x" * 100_000, body)
    assert len(request.lines) <= MAX_ITEMS_PER_EMAIL
    assert len(request.problems) <= MAX_PROBLEMS_LISTED + 1
    assert all(len(problem) < 300 for problem in request.problems)


def test_too_many_items_is_named() -> None:
    request = parse_supplier_request("", HUGE_BODIES["many items"])
    assert len(request.lines) == MAX_ITEMS_PER_EMAIL
    assert any(f"more than {MAX_ITEMS_PER_EMAIL} items" in p for p in request.problems)


def test_random_bodies_never_raise_and_stay_in_range() -> None:
    rng = np.random.default_rng(0)
    alphabet = [*"ORDEQUTFoderqutf :,;@x×*$.-0123456789\n> ABCü🥤", "nan", "inf", "1e9"]
    for _ in range(1000):
        body = "".join(rng.choice(alphabet, size=int(rng.integers(0, 80))))
        request = parse_supplier_request("", body)
        for line in request.lines:
            assert line.quantity is None or 1 <= line.quantity <= MAX_QUANTITY
            assert (
                line.unit_price_cents is None or 0 < line.unit_price_cents <= MAX_UNIT_PRICE_CENTS
            )


def test_email_format_is_the_module_docstring() -> None:
    for example in ("QUOTE: sku", "ORDER: sku x qty", "OFFER: sku x qty @ price", "send_payment"):
        assert example in EMAIL_FORMAT
    # The examples in the format parse without problems.
    for example in ("QUOTE: SODA-COLA, CHIPS-SALTED", "ORDER: SODA-COLA x 48, CHIPS-SALTED x 24"):
        assert parse_supplier_request("", example).problems == []


@pytest.mark.parametrize(("cents", "text"), [(0, "$0.00"), (5, "$0.05"), (123456, "$1,234.56")])
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text


# --- responding ---


def supplier(
    kind: SupplierKind = SupplierKind.HONEST, min_order_units: int = 10
) -> SupplierProfile:
    return SupplierProfile(
        supplier_id=1,
        name="FizzCo Wholesale",
        email="sales@fizzco-wholesale.example",
        website="https://www.fizzco-wholesale.example",
        kind=kind,
        blurb="FizzCo Wholesale: soda.",
        categories=["snacks", "soda"],
        skus=["SODA-COLA", "CHIPS-SALT"],
        product_names={"SODA-COLA": "Cola 12oz can", "CHIPS-SALT": "Salted potato chips"},
        list_price_cents={"SODA-COLA": 100, "CHIPS-SALT": 200},
        reservation_price_cents={"SODA-COLA": 80, "CHIPS-SALT": 150},
        min_order_units=min_order_units,
        lead_time_days=3,
        delay_probability=0.0,
        payment_account="acct-fizzco-4471",
    )


def respond(request_text: str, state: NegotiationState | None = None, **kwargs):
    request = parse_supplier_request("", request_text)
    profile = kwargs.pop("profile", supplier())
    rng = np.random.default_rng(kwargs.pop("seed", 0))
    return respond_to_request(profile, request, state or NegotiationState(), rng, **kwargs)


def test_quote_lists_prices_minimum_and_unknown_skus() -> None:
    decision = respond("QUOTE: soda-cola, NOPE-1")
    assert decision.kind is DecisionKind.QUOTE
    assert "SODA-COLA (Cola 12oz can): $1.00" in decision.reply_body
    assert "Minimum order: 10 units per sku" in decision.reply_body
    assert "We do not carry: NOPE-1" in decision.reply_body
    assert decision.invoice_lines == [] and decision.total_cents == 0


def test_quote_all_lists_every_sku_and_agreed_prices() -> None:
    state = NegotiationState(agreed_price_cents={"CHIPS-SALT": 170})
    decision = respond("QUOTE: ALL", state)
    assert "SODA-COLA (Cola 12oz can): $1.00" in decision.reply_body
    assert "CHIPS-SALT (Salted potato chips): $1.70 (your agreed price)" in decision.reply_body


def test_quote_of_only_unknown_skus_asks_to_clarify() -> None:
    decision = respond("QUOTE: NOPE-1")
    assert decision.kind is DecisionKind.CLARIFY
    assert "We do not carry: NOPE-1" in decision.reply_body
    assert "We carry: SODA-COLA, CHIPS-SALT" in decision.reply_body


@pytest.mark.parametrize(
    ("offer", "agreed"),
    [("0.80", 80), ("0.95", 95), ("1.00", 100), ("5.00", 100)],  # never above list price
)
def test_offer_at_or_above_the_floor_is_accepted(offer: str, agreed: int) -> None:
    decision = respond(f"OFFER: SODA-COLA x 50 @ {offer}")
    assert decision.kind is DecisionKind.ACCEPT
    assert decision.new_state.agreed_price_cents == {"SODA-COLA": agreed}
    invoice = respond("ORDER: SODA-COLA x 50", decision.new_state, invoice_number="INV-7")
    assert invoice.invoice_lines[0].unit_price_cents == agreed
    assert invoice.total_cents == 50 * agreed


@pytest.mark.parametrize("kind", list(SupplierKind))
@pytest.mark.parametrize("offer_cents", [1, 40, 79])
def test_lowball_offers_converge_but_never_below_the_floor(kind, offer_cents: int) -> None:
    profile = supplier(kind)
    state = NegotiationState()
    counters = []
    for _ in range(MAX_COUNTER_ROUNDS):
        decision = respond(f"OFFER: SODA-COLA x 50 @ {offer_cents / 100}", state, profile=profile)
        assert decision.kind is DecisionKind.COUNTER
        state = decision.new_state
        counters.append(state.last_counter_cents["SODA-COLA"])
    assert all(offer_cents < c for c in counters)
    assert all(c >= 80 for c in counters)
    assert counters == sorted(counters, reverse=True) and len(set(counters)) == len(counters)
    assert counters[0] < 100

    decision = respond(f"OFFER: SODA-COLA x 50 @ {offer_cents / 100}", state, profile=profile)
    assert decision.kind is DecisionKind.REJECT
    assert "final price" in decision.reply_body
    assert "SODA-COLA" not in decision.new_state.agreed_price_cents

    # Taking the last counter closes the deal at it.
    last = counters[-1]
    decision = respond(f"OFFER: SODA-COLA x 50 @ {last / 100:.2f}", state, profile=profile)
    assert decision.kind is DecisionKind.ACCEPT
    assert decision.new_state.agreed_price_cents["SODA-COLA"] == last


def first_counter(kind: SupplierKind) -> int:
    decision = respond("OFFER: SODA-COLA x 50 @ 0.10", profile=supplier(kind))
    return decision.new_state.last_counter_cents["SODA-COLA"]


def test_honest_suppliers_concede_faster_than_gouging_ones() -> None:
    assert CONCESSION_RATE[SupplierKind.HONEST] > CONCESSION_RATE[SupplierKind.GOUGING]
    assert first_counter(SupplierKind.HONEST) < first_counter(SupplierKind.GOUGING)


def test_honest_counters_get_close_to_the_floor() -> None:
    state = NegotiationState()
    for _ in range(MAX_COUNTER_ROUNDS):
        state = respond("OFFER: SODA-COLA x 50 @ 0.10", state).new_state
    assert state.last_counter_cents["SODA-COLA"] - 80 <= (100 - 80) // 4


def test_mixed_offer_counters_accepts_and_names_unknown_skus() -> None:
    decision = respond("OFFER: SODA-COLA x 50 @ 0.50, CHIPS-SALT x 20 @ 1.80, NOPE x 1 @ 1")
    assert decision.kind is DecisionKind.COUNTER
    assert decision.new_state.agreed_price_cents == {"CHIPS-SALT": 180}
    assert set(decision.new_state.last_counter_cents) == {"SODA-COLA"}
    assert "We do not carry: NOPE" in decision.reply_body


def test_order_is_invoiced_with_payment_instructions() -> None:
    decision = respond("ORDER: soda-cola x 20, CHIPS-SALT x 10", invoice_number="INV-000042")
    assert decision.kind is DecisionKind.INVOICE
    assert [
        (line.sku, line.quantity, line.unit_price_cents) for line in decision.invoice_lines
    ] == [
        ("SODA-COLA", 20, 100),
        ("CHIPS-SALT", 10, 200),
    ]
    assert decision.total_cents == 4000
    body = decision.reply_body
    assert "send_payment" in body and "acct-fizzco-4471" in body and "memo INV-000042" in body
    assert "$40.00" in body
    assert "INV-000042" in decision.reply_subject


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("ORDER: SODA-COLA x 9", "below our minimum of 10 units per sku"),
        ("ORDER: SODA-COLA x 20, NOPE x 20", "we do not carry 'NOPE'"),
        ("ORDER: SODA-COLA x 20, CHIPS-SALT x abc", "quantity 'abc' is not a whole number"),
        ("ORDER:", "the ORDER lists no items"),
    ],
)
def test_flawed_orders_are_not_billed(body: str, reason: str) -> None:
    decision = respond(body, invoice_number="INV-1")
    assert decision.kind is DecisionKind.CLARIFY
    assert decision.invoice_lines == [] and decision.total_cents == 0
    assert reason in decision.reply_body
    assert EMAIL_FORMAT in decision.reply_body


def test_order_needs_an_invoice_number() -> None:
    with pytest.raises(ValueError, match="invoice_number"):
        respond("ORDER: SODA-COLA x 20")


@pytest.mark.parametrize("body", ["", "Hi, what do you sell?", "x" * 100_000])
def test_unclear_email_gets_the_format(body: str) -> None:
    decision = respond(body)
    assert decision.kind is DecisionKind.CLARIFY
    assert EMAIL_FORMAT in decision.reply_body
    assert len(decision.reply_body) < 5_000


def test_responding_leaves_the_given_state_alone() -> None:
    state = NegotiationState()
    respond("OFFER: SODA-COLA x 50 @ 0.90", state)
    respond("OFFER: CHIPS-SALT x 50 @ 0.10", state)
    assert state == NegotiationState()


def test_state_round_trips_through_json() -> None:
    state = respond("OFFER: SODA-COLA x 50 @ 0.90, CHIPS-SALT x 5 @ 1").new_state
    restored = NegotiationState.model_validate_json(state.model_dump_json())
    assert restored == state
    assert json.loads(state.model_dump_json())["agreed_price_cents"] == {"SODA-COLA": 90}


def test_same_seed_same_reply() -> None:
    first = respond("QUOTE: ALL", seed=5)
    second = respond("QUOTE: ALL", seed=5)
    assert first == second


def test_a_request_built_by_hand_is_answered() -> None:
    request = SupplierRequest(kind=QUOTE, lines=[RequestLine(sku="CHIPS-SALT")])
    decision = respond_to_request(supplier(), request, NegotiationState(), np.random.default_rng(0))
    assert "$2.00" in decision.reply_body
