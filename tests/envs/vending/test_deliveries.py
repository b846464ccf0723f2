from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tycoon.envs.vending.deliveries import (
    DELAY_DAYS,
    DeliveryPlan,
    is_open,
    plan_delivery,
)
from tycoon.envs.vending.supplier_replies import (
    InvoiceLine,
)
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile, generate_directory

SEEDS = range(200)


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    wholesale_low_cents: int
    wholesale_high_cents: int
    reference_price_cents: int


# Wholesale value of each sku, for judging what a delivery is really worth.
WHOLESALE_CENTS = {"SODA-COLA": 100, "SODA-STORE": 60, "CHIPS-SALT": 200, "CANDY-BAR": 150}
CHEAPER = {"SODA-COLA": "SODA-STORE"}


def supplier(
    kind: SupplierKind = SupplierKind.HONEST,
    delay_probability: float = 0.0,
    closes_on_day: int | None = None,
) -> SupplierProfile:
    return SupplierProfile(
        supplier_id=1,
        name="FizzCo Wholesale",
        email="sales@fizzco-wholesale.example",
        website="https://www.fizzco-wholesale.example",
        kind=kind,
        blurb="FizzCo Wholesale: soda and snacks.",
        categories=["snacks", "soda"],
        skus=["SODA-COLA", "CHIPS-SALT"],
        product_names={"SODA-COLA": "Cola", "CHIPS-SALT": "Chips"},
        list_price_cents={"SODA-COLA": 100, "CHIPS-SALT": 200},
        reservation_price_cents={"SODA-COLA": 90, "CHIPS-SALT": 180},
        min_order_units=1,
        lead_time_days=3,
        delay_probability=delay_probability,
        closes_on_day=closes_on_day,
        payment_account="acct-fizzco-4471",
    )


INVOICE = [
    InvoiceLine(sku="SODA-COLA", quantity=48, unit_price_cents=100),
    InvoiceLine(sku="CHIPS-SALT", quantity=24, unit_price_cents=200),
]


def plan(profile: SupplierProfile, seed: int, paid_on_day: int = 10, **kwargs) -> DeliveryPlan:
    return plan_delivery(profile, INVOICE, paid_on_day, np.random.default_rng(seed), **kwargs)


def as_tuples(delivery: DeliveryPlan) -> list[tuple[str, int, int]]:
    return [(line.sku, line.quantity, line.unit_cost_cents) for line in delivery.delivered]


def cost(delivery: DeliveryPlan) -> int:
    return sum(line.quantity * line.unit_cost_cents for line in delivery.delivered)


def wholesale_value(lines) -> int:
    return sum(line.quantity * WHOLESALE_CENTS[line.sku] for line in lines)


@pytest.mark.parametrize("kind", [SupplierKind.HONEST, SupplierKind.GOUGING, SupplierKind.FAILING])
def test_on_time_delivery_is_complete(kind: SupplierKind) -> None:
    delivery = plan(supplier(kind), seed=0)
    assert delivery.arrival_day == 13
    assert as_tuples(delivery) == [("SODA-COLA", 48, 100), ("CHIPS-SALT", 24, 200)]
    assert "arrived" in delivery.note


@pytest.mark.parametrize("kind", list(SupplierKind))
def test_a_late_delivery_is_late_by_the_documented_days(kind: SupplierKind) -> None:
    low, high = DELAY_DAYS[kind]
    for seed in range(50):
        delivery = plan(supplier(kind, delay_probability=1.0), seed)
        if delivery.arrival_day is not None:
            assert 13 + low <= delivery.arrival_day <= 13 + high
            assert "delay" in delivery.note


@pytest.mark.parametrize(
    ("closes_on_day", "day", "open_"),
    [
        (None, 0, True),
        (None, 10_000, True),
        (10, 0, True),
        (10, 9, True),
        (10, 10, False),
        (10, 11, False),
    ],
)
def test_is_open(closes_on_day: int | None, day: int, open_: bool) -> None:
    assert is_open(supplier(SupplierKind.FAILING, closes_on_day=closes_on_day), day) is open_


@pytest.mark.parametrize("paid_on_day", range(0, 25))
def test_failing_supplier_never_delivers_after_closing(paid_on_day: int) -> None:
    profile = supplier(SupplierKind.FAILING, delay_probability=0.5, closes_on_day=15)
    for seed in range(40):
        delivery = plan(profile, seed, paid_on_day)
        if delivery.arrival_day is None:
            assert "out of business" in delivery.note
            assert delivery.delivered == []
        else:
            assert delivery.arrival_day < 15
            assert paid_on_day < 15


def test_unreliable_supplier_sometimes_never_delivers() -> None:
    plans = [plan(supplier(SupplierKind.UNRELIABLE, delay_probability=0.5), seed) for seed in SEEDS]
    missing = [p for p in plans if p.arrival_day is None]
    arrived = [p for p in plans if p.arrival_day is not None]
    assert 10 <= len(missing) <= 70
    assert all(p.delivered == [] for p in missing)
    assert all(p.arrival_day >= 13 for p in arrived)
    assert any(p.arrival_day > 13 for p in arrived)


@pytest.mark.parametrize("seed", SEEDS)
def test_bait_and_switch_delivers_less_value_than_invoiced(seed: int) -> None:
    profile = supplier(SupplierKind.BAIT_AND_SWITCH)
    invoiced = sum(line.quantity * line.unit_price_cents for line in INVOICE)

    short = plan(profile, seed)
    assert short.arrival_day is not None
    assert cost(short) < invoiced
    assert wholesale_value(short.delivered) < wholesale_value(INVOICE)

    swapped = plan(profile, seed, substitutes=CHEAPER.get)
    assert wholesale_value(swapped.delivered) < wholesale_value(INVOICE)
    for line in swapped.delivered:
        if line.sku == "SODA-STORE":
            assert (line.quantity, line.unit_cost_cents) == (48, 100)  # paid for cola
            assert "sent SODA-STORE instead" in swapped.note


def test_short_shipments_leave_out_30_to_50_percent() -> None:
    profile = supplier(SupplierKind.BAIT_AND_SWITCH)
    for seed in SEEDS:
        delivered = {line.sku: line.quantity for line in plan(profile, seed).delivered}
        for line in INVOICE:
            got = delivered.get(line.sku, 0)
            assert got == line.quantity or 0.5 <= got / line.quantity <= 0.7


@pytest.mark.parametrize("substitutes", [None, lambda sku: None, lambda sku: sku])
def test_without_a_real_substitute_bait_and_switch_short_ships(substitutes) -> None:
    profile = supplier(SupplierKind.BAIT_AND_SWITCH)
    for seed in range(50):
        delivery = plan(profile, seed, substitutes=substitutes)
        assert {line.sku for line in delivery.delivered} <= {"SODA-COLA", "CHIPS-SALT"}
        assert cost(delivery) < 48 * 100 + 24 * 200
        assert "units shipped" in delivery.note


def test_a_single_unit_short_shipped_leaves_no_empty_line() -> None:
    one = [InvoiceLine(sku="SODA-COLA", quantity=1, unit_price_cents=100)]
    delivery = plan_delivery(
        supplier(SupplierKind.BAIT_AND_SWITCH), one, 0, np.random.default_rng(0)
    )
    assert delivery.arrival_day is not None
    assert delivery.delivered == []


def test_same_seed_same_plan() -> None:
    profile = supplier(SupplierKind.BAIT_AND_SWITCH, delay_probability=0.5)
    assert plan(profile, 9) == plan(profile, 9)


def test_every_generated_supplier_can_plan_a_delivery() -> None:
    catalog = [
        Product(
            sku, sku.title(), sku.split("-")[0].lower(), wholesale, wholesale * 2, wholesale * 3
        )
        for sku, wholesale in WHOLESALE_CENTS.items()
    ]
    directory = generate_directory(np.random.default_rng(0), catalog, horizon_days=60)
    rng = np.random.default_rng(1)
    for profile in directory:
        lines = [
            InvoiceLine(sku=sku, quantity=profile.min_order_units, unit_price_cents=price)
            for sku, price in profile.list_price_cents.items()
        ]
        delivery = plan_delivery(profile, lines, paid_on_day=5, rng=rng)
        if delivery.arrival_day is not None:
            assert delivery.arrival_day >= 5 + profile.lead_time_days
            assert is_open(profile, delivery.arrival_day)
