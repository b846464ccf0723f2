"""How a rule-based supplier answers a parsed request: quotes, haggling, invoices.

Deterministic rules: an offer at or above the hidden reservation price is accepted; below
it the supplier counters, converging on the floor at a rate set by its kind, and after
`MAX_COUNTER_ROUNDS` counters it names its final price. Orders are invoiced only when
every item is valid and meets the minimum order. The request format is in
`supplier_protocol`.
"""

from __future__ import annotations

import functools
import math
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, Field

from tycoon.envs.vending.supplier_protocol import (
    EMAIL_FORMAT,
    RequestKind,
    SupplierRequest,
    format_cents,
    shown_token,
)
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile


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
    return answer_with_state(profile, request, _own_copy(state), rng, invoice_number)


def answer_with_state(
    profile: SupplierProfile,
    request: SupplierRequest,
    state: NegotiationState,
    rng: np.random.Generator,
    invoice_number: str | None = None,
) -> SupplierDecision:
    """`respond_to_request` on a state the caller hands over: the answer changes `state`
    itself (the desk validates a fresh state from the stored JSON for each email, so a
    copy of it would be a second one)."""
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


def _own_copy(state: NegotiationState) -> NegotiationState:
    """A copy the answer may change, leaving the caller's state as it was (the state is
    dicts of str -> int, so copying the dicts is a deep copy, at a quarter of the cost of
    `model_copy(deep=True)`)."""
    return NegotiationState(
        agreed_price_cents=dict(state.agreed_price_cents),
        last_counter_cents=dict(state.last_counter_cents),
        rounds=dict(state.rounds),
    )


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
    canonical = _canonical_skus(tuple(profile.skus))
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
    canonical = _canonical_skus(tuple(profile.skus))
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
    return _decision(
        profile,
        rng,
        DecisionKind.INVOICE,
        f"Invoice {invoice_number}",
        paragraphs,
        state,
        invoice_lines=lines,
        total_cents=total,
    )


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
    invoice_lines: list[InvoiceLine] | None = None,
    total_cents: int = 0,
) -> SupplierDecision:
    """The reply around `paragraphs`; an invoice's lines and total go in the decision as
    it is made (a copy with them would build it twice)."""
    greeting = ("Hello,", "Hi,", "Good day,")[int(rng.integers(3))]
    closing = ("Best regards", "Kind regards", "Thanks")[int(rng.integers(3))]
    signature = f"{closing},\n{profile.name} sales team\n{profile.email} | {profile.website}"
    body = "\n\n".join([greeting, *paragraphs, signature])
    subject = f"{subject} - {profile.name}"
    if invoice_lines is None:
        return SupplierDecision(kind=kind, reply_subject=subject, reply_body=body, new_state=state)
    return SupplierDecision(
        kind=kind,
        reply_subject=subject,
        reply_body=body,
        invoice_lines=invoice_lines,
        total_cents=total_cents,
        new_state=state,
    )


@functools.lru_cache(maxsize=256)
def _canonical_skus(skus: tuple[str, ...]) -> dict[str, str]:
    """A supplier's skus by their upper case (requests match skus case-insensitively):
    worked out once per list of skus, not for every email. Read only."""
    return {sku.upper(): sku for sku in skus}


def _known_skus(profile: SupplierProfile, request: SupplierRequest) -> tuple[list[str], list[str]]:
    canonical = _canonical_skus(tuple(profile.skus))
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
    return [f"We do not carry: {', '.join(shown_token(sku) for sku in unknown)}."]


def _problem_notes(problems: list[str]) -> list[str]:
    if not problems:
        return []
    return ["We could not read parts of your email:\n" + "\n".join(f"- {p}" for p in problems)]
