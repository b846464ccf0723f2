"""Suppliers in the world: answering mail, shipping paid orders, delivering goods.

The rules of how a supplier behaves live in `suppliers`, `supplier_protocol` and
`deliveries` (pure, table-tested); this module reads and writes the rows around them.
"""

from __future__ import annotations

from tycoon.envs.vending.deliveries import DeliveryPlan, is_open, plan_delivery
from tycoon.envs.vending.supplier_protocol import (
    parse_supplier_request,
)
from tycoon.envs.vending.supplier_replies import (
    DecisionKind,
    InvoiceLine,
    NegotiationState,
    answer_with_state,
)
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world.state_rows import Email, Order, OrderLine, Supplier

MAILER_DAEMON = "mailer-daemon@mail.example"


def profile_of(world: VendingWorld, supplier: Supplier) -> SupplierProfile:
    cached = world.supplier_profiles.get(supplier.id)
    if cached is None:
        cached = world.supplier_profiles[supplier.id] = _build_profile(world, supplier)
    return cached


def _build_profile(world: VendingWorld, supplier: Supplier) -> SupplierProfile:
    offers = world.offers.get(supplier.id, [])
    skus = [offer.sku for offer in offers]
    return SupplierProfile(
        supplier_id=supplier.id,
        name=supplier.name,
        email=supplier.email,
        website=supplier.website,
        kind=SupplierKind(supplier.kind),
        blurb=supplier.blurb,
        categories=sorted({world.products[sku].category for sku in skus}),
        skus=skus,
        product_names={sku: world.products[sku].name for sku in skus},
        list_price_cents={o.sku: o.list_price_cents for o in offers},
        reservation_price_cents={o.sku: o.reservation_price_cents for o in offers},
        min_order_units=supplier.min_order_units,
        lead_time_days=supplier.lead_time_days,
        delay_probability=supplier.delay_probability,
        closes_on_day=supplier.closes_on_day,
        payment_account=supplier.payment_account,
    )


def answer_mail(world: VendingWorld) -> None:
    """Reply to every email the operator sent today (replies arrive overnight)."""
    if not world.mail_waiting:
        return
    world.mail_waiting = False
    sent, world.unanswered = world.unanswered, []
    for email in sent:
        email.processed = True
        supplier = world.supplier_by_email(email.recipient)
        if supplier is None:
            if world.hooks.answer_email(email):
                continue
            if world.market is not None and world.market.takes_mail(world, email):
                continue  # another operator of an arena market (routed when sent)
            if not _is_known_correspondent(world, email.recipient):
                _bounce(world, email, "no such address")
            continue
        profile = profile_of(world, supplier)
        if not is_open(profile, world.day):
            _bounce(world, email, f"{supplier.name} has closed its business")
            continue
        _answer(world, supplier, profile, email)


def _is_known_correspondent(world: VendingWorld, address: str) -> bool:
    """The owner's company and customers (all on the public mail.example service) get
    mail without replying to it; anything else unknown bounces."""
    if address.endswith("@vendco.example"):
        return True
    return address.endswith("@mail.example") or any(
        request.email == address for request in world.requests.values()
    )


def _bounce(world: VendingWorld, email: Email, reason: str) -> None:
    world.deliver_email(
        MAILER_DAEMON,
        f"Undeliverable: {email.subject}"[:256],
        f"Your message to {email.recipient} could not be delivered: {reason}.",
    )


def _answer(
    world: VendingWorld, supplier: Supplier, profile: SupplierProfile, email: Email
) -> None:
    request = parse_supplier_request(email.subject, email.body)
    state = NegotiationState.model_validate(supplier.negotiation or {})
    invoice_number = f"INV-{world.next_local_id('orders')}"
    decision = answer_with_state(
        profile, request, state, world.rng("supplier_mail", email.id), invoice_number
    )
    negotiation = decision.new_state.model_dump()
    # a quote or an order leaves the state as it was: no update of the supplier's row
    # (the state is only ever added to, so an equal state is the same JSON)
    if supplier.negotiation is None or negotiation != supplier.negotiation:
        supplier.negotiation = negotiation
    if decision.kind == DecisionKind.INVOICE and decision.invoice_lines:
        _record_invoice(
            world, supplier, invoice_number, decision.invoice_lines, decision.total_cents
        )
    if world.reply_writer is not None:  # a model may word the reply; the decision stands
        decision = world.reply_writer(world, profile, email, decision)
    world.deliver_email(supplier.email, decision.reply_subject, decision.reply_body)


def _record_invoice(
    world: VendingWorld,
    supplier: Supplier,
    invoice_number: str,
    lines: list[InvoiceLine],
    total_cents: int,
) -> None:
    order = world.add(
        Order(
            supplier_id=supplier.id,
            invoice_number=invoice_number,
            status="invoiced",
            total_cents=total_cents,
            paid_cents=0,
            created_day=world.day,
            paid_day=None,
            arrival_day=None,
            delivery=None,
        )
    )
    for line in lines:
        world.add(
            OrderLine(
                order_id=order.id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
            )
        )


def _lines(world: VendingWorld, order: Order) -> list[InvoiceLine]:
    return [
        InvoiceLine(sku=r.sku, quantity=r.quantity, unit_price_cents=r.unit_price_cents)
        for r in world.order_lines.get(order.id, [])
    ]


def cheaper_substitute(world: VendingWorld, sku: str) -> str | None:
    """The cheapest other product of the same category and size (what a swindler sends)."""
    product = world.products[sku]
    same_kind = [
        p
        for p in world.products.values()
        if p.sku != sku and p.category == product.category and p.size == product.size
    ]
    if not same_kind:
        return None
    cheapest = min(same_kind, key=lambda p: (p.wholesale_low_cents, p.sku))
    return cheapest.sku if cheapest.wholesale_low_cents < product.wholesale_low_cents else None


def ship_paid_orders(world: VendingWorld) -> None:
    for order in world.orders_with_status("paid"):
        supplier = world.suppliers[order.supplier_id]
        plan = plan_delivery(
            profile_of(world, supplier),
            _lines(world, order),
            order.paid_day if order.paid_day is not None else world.day,
            world.rng("delivery", order.id),
            substitutes=lambda sku: cheaper_substitute(world, sku),
        )
        if world.market is not None:  # an arena's suppliers share their stock
            plan = world.market.fill(world, order, plan)
        order.delivery = plan.model_dump()
        order.arrival_day = plan.arrival_day
        # "lost" is the simulator's knowledge; the agent only sees nothing arrive
        if plan.arrival_day is None:
            world.close_order(order, "lost")
        else:
            order.status = "shipped"


def deliver_arrivals(world: VendingWorld, arriving_by: int) -> list[str]:
    notes = []
    for order in world.orders_with_status("shipped"):
        if order.arrival_day is None or order.arrival_day > arriving_by:
            continue
        plan = DeliveryPlan.model_validate(order.delivery)
        for line in plan.delivered:
            if line.quantity > 0 and line.sku in world.products:
                world.add_to_storage(line.sku, line.quantity, line.unit_cost_cents)
        world.close_order(order, "delivered")
        supplier = world.suppliers[order.supplier_id]
        contents = ", ".join(f"{line.sku} x {line.quantity}" for line in plan.delivered)
        world.deliver_email(
            supplier.email,
            f"{order.invoice_number} delivered",
            f"Your order {order.invoice_number} was delivered to your storage unit at "
            f"{world.config.storage_address}: {contents or 'nothing'}.\n{plan.note}".strip(),
        )
        notes.append(f"{order.invoice_number} from {supplier.name} ({contents or 'nothing'})")
    return notes
