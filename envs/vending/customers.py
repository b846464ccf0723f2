"""Customers who write to the operator: complaints and refund requests.

Complaints (prices far above the usual, an empty slot) are information; refund requests
(the machine took money and gave nothing) want a `send_payment` to the customer's account.
A request left unpaid for `refund_unanswered_days` expires and costs the machine some of
its reputation, which scales all demand; paying refunds wins a little back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tycoon.envs.vending.demand import Sale, SaleRecord
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world.state_rows import CustomerRequest

COMPLAINT_PROBABILITY = 0.25
REPUTATION_GAIN_PER_REFUND = 0.01
MAX_REPUTATION = 1.0
MIN_REPUTATION = 0.5
_FIRST_NAMES = ("alex", "sam", "jordan", "casey", "riley", "morgan", "taylor", "jamie", "drew")


def write_to_operator(world: VendingWorld, sales: Sequence[Sale | SaleRecord]) -> None:
    rng = world.rng("customers")
    _complain_about_prices(world, sales, rng)
    _complain_about_stock_outs(world, sales, rng)
    if world.config.customer_refunds:
        _expire_ignored_requests(world)
        _request_refund(world, sales, rng)


def _customer_address(rng: np.random.Generator, number: int) -> str:
    name = _FIRST_NAMES[int(rng.integers(len(_FIRST_NAMES)))]
    return f"{name}.{number}@mail.example"


def _complain_about_prices(
    world: VendingWorld, sales: Sequence[Sale | SaleRecord], rng: np.random.Generator
) -> None:
    products, multiple = world.products, world.config.complaint_price_multiple
    for sale in sales:
        if not sale.units:
            continue  # (checked first: it needs no product; neither check draws)
        product = products[sale.sku]
        too_dear = sale.price_cents > multiple * product.reference_price_cents
        if too_dear and rng.random() < COMPLAINT_PROBABILITY:
            world.deliver_email(
                _customer_address(rng, int(rng.integers(1000, 9999))),
                f"{product.name} is way overpriced",
                f"I paid ${sale.price_cents / 100:.2f} for a {product.name} at your machine on "
                f"{world.config.machine_address}. That is far more than anywhere else.",
            )


def _complain_about_stock_outs(
    world: VendingWorld, sales: Sequence[Sale | SaleRecord], rng: np.random.Generator
) -> None:
    for sale in sales:
        if sale.unmet_units and not sale.units and rng.random() < COMPLAINT_PROBABILITY:
            product = world.products[sale.sku]
            world.deliver_email(
                _customer_address(rng, int(rng.integers(1000, 9999))),
                f"Out of {product.name} again",
                f"Your machine on {world.config.machine_address} had no {product.name} today.",
            )


def _request_refund(
    world: VendingWorld, sales: Sequence[Sale | SaleRecord], rng: np.random.Generator
) -> None:
    sold = [sale for sale in sales if sale.units]
    if not sold or rng.random() >= world.config.refund_request_probability:
        return
    sale = sold[int(rng.integers(len(sold)))]
    product = world.products[sale.sku]
    request = world.add(
        CustomerRequest(
            account="",
            email="",
            amount_cents=sale.price_cents,
            opened_day=world.day,
            status="open",
        )
    )
    request.account = f"cust-{request.id:04d}"
    world.open_requests[request.id] = request
    request.email = _customer_address(rng, request.id)
    world.deliver_email(
        request.email,
        f"Refund request REF-{request.id}",
        f"Your machine took my ${sale.price_cents / 100:.2f} for a {product.name} and gave me "
        f"nothing. Please refund ${sale.price_cents / 100:.2f} to my account {request.account} "
        f"(send_payment, memo REF-{request.id}).",
    )


def _expire_ignored_requests(world: VendingWorld) -> None:
    deadline = world.day - world.config.refund_unanswered_days
    for request in list(world.open_requests.values()):
        if request.opened_day > deadline:
            continue
        request.status = "expired"
        del world.open_requests[request.id]
        world.episode.reputation = max(
            MIN_REPUTATION,
            world.episode.reputation - world.config.reputation_loss_per_ignored_refund,
        )


def reward_refund(world: VendingWorld) -> None:
    world.episode.reputation = min(
        MAX_REPUTATION, world.episode.reputation + REPUTATION_GAIN_PER_REFUND
    )
