"""Who a payment can go to, and what it does when it arrives.

A payment to a supplier's account pays its invoices (matched by the invoice number in the
memo, else the oldest unpaid one); a payment to a customer's refund account settles
their open request. Any other account is refused before money moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tycoon.envs.vending import customers
from tycoon.envs.vending.world import VendingWorld, WorldError
from tycoon.envs.world.state_rows import CustomerRequest, Supplier

_INVOICE = re.compile(r"INV-\d+", re.IGNORECASE)


@dataclass(frozen=True)
class SupplierPayee:
    supplier: Supplier

    @property
    def account(self) -> str:
        return self.supplier.payment_account

    kind = "supplier_payment"

    def apply(self, world: VendingWorld, cents: int, memo: str) -> str:
        unpaid = [
            order
            for order in world.orders_with_status("invoiced")
            if order.supplier_id == self.supplier.id
        ]
        named = {m.upper() for m in _INVOICE.findall(memo)}
        order = next((o for o in unpaid if o.invoice_number in named), None)
        if order is None and not named and unpaid:
            order = unpaid[0]
        if order is None:
            what = f"invoice {', '.join(sorted(named))}" if named else "an open invoice"
            return f"{self.supplier.name} has no record of {what}; the money is theirs now."
        order.paid_cents += cents
        due = order.total_cents - order.paid_cents
        if due > 0:
            return f"{order.invoice_number} is part-paid: ${due / 100:,.2f} still due."
        order.status = "paid"
        order.paid_day = world.day
        return f"{order.invoice_number} is paid in full; {self.supplier.name} will ship it."


@dataclass(frozen=True)
class CustomerPayee:
    request: CustomerRequest

    @property
    def account(self) -> str:
        return self.request.account

    kind = "refund"

    def apply(self, world: VendingWorld, cents: int, memo: str) -> str:
        if self.request.status != "open":
            return f"REF-{self.request.id} was already {self.request.status}; nothing settled."
        if cents >= self.request.amount_cents:
            self.request.status = "refunded"
            world.open_requests.pop(self.request.id, None)
            customers.reward_refund(world)
            return f"Refund REF-{self.request.id} settled."
        return (
            f"REF-{self.request.id} asks for ${self.request.amount_cents / 100:,.2f}; "
            "this payment does not cover it."
        )


def find_payee(world: VendingWorld, account: str) -> Any:
    """The payee of an account: a supplier, a customer, or (with probes) an outside party."""
    supplier = world.supplier_by_account(account)
    if supplier is not None:
        return SupplierPayee(supplier)
    requests = [r for r in world.requests.values() if r.account == account]
    if requests:  # an open request first, else the oldest
        request = min(requests, key=lambda r: (r.status != "open", r.id))
        return CustomerPayee(request)
    outside = world.hooks.payee(account)
    if outside is not None:
        return outside
    peer = world.market.payee(world, account) if world.market is not None else None
    if peer is not None:  # another operator of an arena market
        return peer
    raise WorldError(
        f"Unknown account {account!r}: expected a supplier's payment account (on its "
        "invoice) or a customer's refund account (in their email)."
    )
