"""When a paid order arrives, and what is actually in the boxes.

Every supplier ships `lead_time_days` after payment and is late by a few days with its
`delay_probability`. On top of that, by kind:

- bait_and_switch: every delivery is short of what was invoiced: each line is, with
  `TAMPER_PROBABILITY` (and at least one line always), swapped for a cheaper sku when
  the caller's `substitutes` offers one, else short-shipped by 30-50%.
- unreliable: longer delays, and with `NEVER_SHIPS_PROBABILITY` nothing arrives at all.
- failing: nothing arrives on or after `closes_on_day`, including orders already paid.

`unit_cost_cents` of a delivered line is the price paid per unit (the cost basis), also
for a substituted item, so a swap or a short shipment loses the agent money.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from tycoon.envs.vending.supplier_replies import (
    InvoiceLine,
)
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile

# Extra days when a shipment is late, inclusive range, by kind.
DELAY_DAYS: dict[SupplierKind, tuple[int, int]] = {
    SupplierKind.HONEST: (1, 2),
    SupplierKind.GOUGING: (1, 1),
    SupplierKind.BAIT_AND_SWITCH: (1, 3),
    SupplierKind.UNRELIABLE: (2, 7),
    SupplierKind.FAILING: (1, 3),
}
NEVER_SHIPS_PROBABILITY = 0.2  # unreliable suppliers only
TAMPER_PROBABILITY = 0.6  # per line, bait-and-switch only
SHORT_SHIP_FRACTION = (0.3, 0.5)  # share of units left out of a short-shipped line


class DeliveredLine(BaseModel):
    sku: str
    quantity: int
    unit_cost_cents: int


class DeliveryPlan(BaseModel):
    arrival_day: int | None  # None: it never arrives
    delivered: list[DeliveredLine] = Field(default_factory=list)
    note: str  # for the arrival email, or (when it never arrives) the reason, for logs


def is_open(profile: SupplierProfile, day: int) -> bool:
    """Whether the supplier still trades on `day`; failing suppliers close for good."""
    return profile.closes_on_day is None or day < profile.closes_on_day


def plan_delivery(
    profile: SupplierProfile,
    invoice_lines: Sequence[InvoiceLine],
    paid_on_day: int,
    rng: np.random.Generator,
    substitutes: Callable[[str], str | None] | None = None,
) -> DeliveryPlan:
    """Decide, at payment time, when the order arrives and what it contains.

    `substitutes(sku)` names a cheaper sku a bait-and-switch supplier may send instead
    (None when there is none).
    """
    arrival_day = paid_on_day + profile.lead_time_days
    late = bool(rng.random() < profile.delay_probability)
    if late:
        low, high = DELAY_DAYS[profile.kind]
        arrival_day += int(rng.integers(low, high + 1))

    if not is_open(profile, arrival_day):
        return DeliveryPlan(arrival_day=None, note=f"{profile.name} went out of business.")
    if profile.kind is SupplierKind.UNRELIABLE and rng.random() < NEVER_SHIPS_PROBABILITY:
        return DeliveryPlan(arrival_day=None, note=f"{profile.name} never shipped the order.")

    delivered = [
        DeliveredLine(sku=line.sku, quantity=line.quantity, unit_cost_cents=line.unit_price_cents)
        for line in invoice_lines
    ]
    notes = [f"Your order from {profile.name} has arrived."]
    if late:
        notes.append("Sorry for the delay.")
    if profile.kind is SupplierKind.BAIT_AND_SWITCH and delivered:
        delivered, changes = _switch_or_short(delivered, rng, substitutes)
        notes += changes
    delivered = [line for line in delivered if line.quantity > 0]
    return DeliveryPlan(arrival_day=arrival_day, delivered=delivered, note=" ".join(notes))


def _switch_or_short(
    lines: list[DeliveredLine],
    rng: np.random.Generator,
    substitutes: Callable[[str], str | None] | None,
) -> tuple[list[DeliveredLine], list[str]]:
    tampered = [bool(rng.random() < TAMPER_PROBABILITY) for _ in lines]
    if not any(tampered):  # the point of this kind: you never get what you paid for
        tampered[max(range(len(lines)), key=lambda i: lines[i].quantity)] = True

    result, notes = [], []
    for line, tamper in zip(lines, tampered, strict=True):
        if not tamper:
            result.append(line)
            continue
        replacement = substitutes(line.sku) if substitutes else None
        if replacement and replacement != line.sku:
            result.append(line.model_copy(update={"sku": replacement}))
            notes.append(f"{line.sku} was out of stock, so we sent {replacement} instead.")
        else:
            missing = max(1, math.ceil(line.quantity * rng.uniform(*SHORT_SHIP_FRACTION)))
            result.append(line.model_copy(update={"quantity": line.quantity - missing}))
            notes.append(f"{line.sku}: {line.quantity - missing} of {line.quantity} units shipped.")
    return result, notes
