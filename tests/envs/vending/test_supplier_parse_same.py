"""The supplier desk, made cheaper for the night, reads and answers every email as it did:
the parser gives the same kind, lines (sku, quantity, price) and problems, and the
answers (worked out with each supplier's sku map made once) the same decisions, on
thousands of generated requests, well formed, sloppy and hostile."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tycoon.envs.vending import supplier_protocol, supplier_replies
from tycoon.envs.vending.supplier_protocol import (
    _COMPACT_QUANTITY,
    _SKU,
    _SPACED_QUANTITY,
    _WHOLE_NUMBER,
    RequestKind,
    RequestLine,
    _parse_price,
    _parse_quantity,
    parse_supplier_request,
    shown_token,
)
from tycoon.envs.vending.supplier_replies import NegotiationState, respond_to_request
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile


def _old_parse_item(kind: RequestKind, item: str) -> RequestLine | str:
    """`_parse_item` as it was: the line made with its sku, then its fields set."""
    if len(item) > supplier_protocol._MAX_ITEM_CHARS:
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


SKUS = ["soda-cola", "CHIPS-SALT", "BOX-1x10", "12", "a.b/c_d", "x", "bad sku", "ü-cola", ""]
QUANTITIES = ["48", "1", "0", "-3", "+7", "10000", "10001", "007", "4.5", "1e3", "x", "9" * 30, ""]
PRICES = ["0.55", "$0.55", "$ 1", ".5", "0.555", "0", "-1", "1000", "1000.01", "abc", "1,000", ""]
TIMES = [" x ", "x", " X ", "*", " × ", " by ", "  "]
SEPARATORS = [", ", ",", "; ", ";", "\n", " , "]
KEYWORDS = ["ORDER:", "order :", "OFFER:", "Offer:", "QUOTE:", "quote:", "ORDER:\n", "Hello\n"]


def _item(rng: random.Random) -> str:
    text = rng.choice(SKUS)
    if rng.random() < 0.8:
        text += rng.choice(TIMES) + rng.choice(QUANTITIES)
    if rng.random() < 0.5:
        text += rng.choice([" @ ", "@", " @@ "]) + rng.choice(PRICES)
    if rng.random() < 0.02:
        text *= 40  # past the item length limit
    return text


def _email(rng: random.Random) -> tuple[str, str]:
    lines = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        items = rng.choice(SEPARATORS).join(_item(rng) for _ in range(rng.randrange(0, 8)))
        lines.append(f"{rng.choice(KEYWORDS)} {items}")
        if rng.random() < 0.2:
            lines.append(rng.choice(["> ORDER: soda-cola x 5", "", "--- Original Message ---"]))
    if rng.random() < 0.05:  # more items than an email may hold
        lines.append("ORDER: " + ", ".join(f"sku-{n} x 5" for n in range(60)))
    subject = rng.choice(["Order", "Re: ORDER: soda-cola x 24", "OFFER: CHIPS-SALT @ 0.4", ""])
    return subject, "\n".join(lines)


def _read(request) -> tuple:
    return request.kind, [line.model_dump() for line in request.lines], request.problems


@pytest.mark.parametrize("seed", range(4))
def test_the_parser_reads_every_request_as_the_old_one_did(seed: int, monkeypatch) -> None:
    rng = random.Random(seed)
    emails = [_email(rng) for _ in range(1_500)]
    new = [_read(parse_supplier_request(subject, body)) for subject, body in emails]
    monkeypatch.setattr(supplier_protocol, "_parse_item", _old_parse_item)
    old = [_read(parse_supplier_request(subject, body)) for subject, body in emails]
    assert new == old
    kinds = {reading[0] for reading in new}
    assert kinds == set(RequestKind)  # every kind of request came up
    assert any(reading[1] and reading[2] for reading in new)  # lines and problems together
    assert any(line["unit_price_cents"] for reading in new for line in reading[1])


def _profile(rng: random.Random, kind: SupplierKind) -> SupplierProfile:
    # skus as requests write them, in other cases too (and one written twice in two cases)
    skus = rng.sample(["soda-cola", "CHIPS-SALT", "BOX-1x10", "12", "a.b/c_d", "x"], 4)
    skus += ["Soda-Cola"] if rng.random() < 0.3 else []
    return SupplierProfile(
        supplier_id=rng.randrange(1, 20),
        name="FizzCo Wholesale",
        email="sales@fizzco.example",
        website="https://fizzco.example",
        kind=kind,
        blurb="FizzCo: soda.",
        categories=["soda"],
        skus=skus,
        product_names={sku: f"{sku} name" for sku in skus},
        list_price_cents={sku: rng.randrange(50, 400) for sku in skus},
        reservation_price_cents={sku: rng.randrange(10, 300) for sku in skus},
        min_order_units=rng.choice([1, 6, 24]),
        lead_time_days=3,
        delay_probability=0.1,
        payment_account="acct-fizzco-1",
    )


def _old_canonical_skus(skus: tuple[str, ...]) -> dict[str, str]:
    return {sku.upper(): sku for sku in skus}


@pytest.mark.parametrize("seed", range(2))
def test_the_answers_are_the_old_answers(seed: int, monkeypatch) -> None:
    rng = random.Random(100 + seed)
    cases = []
    for number in range(1_500):
        profile = _profile(rng, rng.choice(list(SupplierKind)))
        state = NegotiationState(
            agreed_price_cents={sku: rng.randrange(20, 300) for sku in profile.skus[:1]},
            last_counter_cents={sku: rng.randrange(20, 300) for sku in profile.skus[1:2]},
            rounds={sku: rng.randrange(0, 6) for sku in profile.skus},
        )
        cases.append((profile, parse_supplier_request(*_email(rng)), state, number))

    def answers() -> list[dict]:
        return [
            respond_to_request(
                profile, request, state, np.random.default_rng(number), f"INV-{number}"
            ).model_dump()
            for profile, request, state, number in cases
        ]

    new = answers()
    monkeypatch.setattr(supplier_replies, "_canonical_skus", _old_canonical_skus)
    assert answers() == new
    assert {answer["kind"] for answer in new} == {
        "quote", "invoice", "counter", "accept", "reject", "clarify"
    }  # fmt: skip
