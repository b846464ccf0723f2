"""The night's rows written out by hand are pydantic's, key for key and byte for byte.

A night stores each paid order's delivery plan (`DeliveryPlan.as_row`) and each answered
supplier's negotiation state (`NegotiationState.as_row`) without pydantic's serializer;
its sales draws hand back numpy's scalar draws without an `int()` around them. Each is
checked against the old way (`model_dump()`, `int(...)`) on many seeded and hostile
inputs: equal dicts, equal JSON text (key order included), exact `int` types, and a row
that is its own copy (changing it leaves the model as it was). A night's `DayContext` is
taken from the contexts of equal days already made: it equals the one the night validated
afresh, on many seeds, days and reputations.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pydantic
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending import overnight
from tycoon.envs.vending.deliveries import DeliveredLine, DeliveryPlan, plan_delivery
from tycoon.envs.vending.demand import (
    DayContext,
    ListingRecord,
    Weather,
    calendar_for_day,
    draw_day_sales,
)
from tycoon.envs.vending.supplier_replies import InvoiceLine, NegotiationState
from tycoon.envs.vending.suppliers import SupplierKind, SupplierProfile

HOSTILE_TEXT = ["", "SODA-COLA", "ñandú ☕", 'quote"s\\ and \n newlines', "x" * 300, "\x00"]


def same_row(row: dict, model: NegotiationState | DeliveryPlan) -> None:
    dumped = model.model_dump()
    assert row == dumped
    assert json.dumps(row) == json.dumps(dumped)  # the stored JSON text, key order too


def profile(kind: SupplierKind, seed: int) -> SupplierProfile:
    rng = np.random.default_rng(seed)
    skus = [f"SKU-{i}" for i in range(int(rng.integers(1, 6)))]
    return SupplierProfile(
        supplier_id=seed + 1,
        name=f"Supplier {seed}",
        email=f"sales{seed}@s.example",
        website=f"https://s{seed}.example",
        kind=kind,
        blurb="test supplier",
        categories=["soda"],
        skus=skus,
        product_names={sku: sku.lower() for sku in skus},
        list_price_cents={sku: 50 + i for i, sku in enumerate(skus)},
        reservation_price_cents={sku: 30 + i for i, sku in enumerate(skus)},
        min_order_units=int(rng.integers(1, 30)),
        lead_time_days=int(rng.integers(1, 8)),
        delay_probability=float(rng.random()),
        closes_on_day=None if seed % 3 else int(rng.integers(0, 20)),
        payment_account=f"acct-{seed}",
    )


def cheaper(sku: str) -> str:
    return f"{sku}-CHEAP"


@pytest.mark.parametrize("kind", list(SupplierKind))
def test_delivery_row_is_the_plans_dump_for_every_kind_of_supplier(kind: SupplierKind) -> None:
    for seed in range(60):
        supplier = profile(kind, seed)
        rng = np.random.default_rng(seed)
        lines = [
            InvoiceLine(sku=sku, quantity=int(rng.integers(0, 200)), unit_price_cents=99)
            for sku in supplier.skus
        ]
        plan = plan_delivery(
            supplier,
            lines,
            int(rng.integers(0, 30)),
            np.random.default_rng(seed + 1000),
            substitutes=cheaper if seed % 2 else lambda _sku: None,
        )
        same_row(plan.as_row(), plan)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_delivery_row_of_hostile_plans_is_the_dump_and_a_copy(text: str) -> None:
    plans = [
        DeliveryPlan(arrival_day=None, note=text),
        DeliveryPlan(arrival_day=0, delivered=[], note=text),
        DeliveryPlan(
            arrival_day=2**40,
            delivered=[
                DeliveredLine(sku=text, quantity=-3, unit_cost_cents=0),
                DeliveredLine(sku=text + "2", quantity=10**12, unit_cost_cents=-1),
            ],
            note=text,
        ),
    ]
    for plan in plans:
        row = plan.as_row()
        same_row(row, plan)
        for line in row["delivered"]:
            line["quantity"] = "changed"
        assert all(line.quantity != "changed" for line in plan.delivered)
        # what the night stores reads back as the same plan
        assert DeliveryPlan.model_validate(json.loads(json.dumps(plan.as_row()))) == plan


@pytest.mark.parametrize("seed", range(40))
def test_negotiation_row_is_the_states_dump_and_a_copy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = [*HOSTILE_TEXT, *(f"SKU-{i}" for i in range(8))]

    def some() -> dict[str, int]:
        chosen = rng.choice(len(keys), size=int(rng.integers(0, len(keys))), replace=False)
        return {keys[i]: int(rng.integers(-(10**9), 10**9)) for i in chosen}

    state = NegotiationState(agreed_price_cents=some(), last_counter_cents=some(), rounds=some())
    row = state.as_row()
    same_row(row, state)
    for part in row.values():
        part["added"] = 1
    assert all("added" not in part for part in state.model_dump().values())
    assert NegotiationState.model_validate(json.loads(json.dumps(state.as_row()))) == state


def test_empty_negotiation_row_is_the_dump() -> None:
    state = NegotiationState()
    same_row(state.as_row(), state)


@pytest.mark.parametrize("seed", range(30))
def test_night_sales_counts_are_python_ints(seed: int) -> None:
    """Small and large means (numpy's two Poisson algorithms), empty slots, products
    priced out: every count a night's sales record holds is exactly an `int` (what
    `int()` around each draw gave; test_night_sales checks the values draw for draw)."""
    rng = np.random.default_rng(seed)
    listings = [
        ListingRecord(
            f"SKU-{i}",
            ("coffee", "soda", "snacks")[i % 3],
            int(rng.integers(50, 900)),
            200,
            float(rng.uniform(0.2, 3.0)),
            float(rng.choice([0.0, 0.5, 3.0, 15.0, 80.0, 400.0])),
            int(rng.integers(0, 500)),
        )
        for i in range(int(rng.integers(1, 14)))
    ]
    context = DayContext(weekday=seed % 7, month=seed % 12 + 1, weather=list(Weather)[seed % 5])
    records = draw_day_sales(np.random.default_rng(seed + 7), listings, context)
    assert len(records) == len(listings)
    for record in records:
        assert [type(value) for value in record[1:]] == [int] * 5, record
    assert json.dumps([list(r) for r in records])  # a numpy integer would not serialize


def test_night_sales_draw_both_ways_in_the_seeds_above() -> None:
    """The seeds above reach sold units (a binomial drawn) and unmet demand."""
    seen_sold = seen_unmet = False
    for seed in range(30):
        rng = np.random.default_rng(seed)
        listing = ListingRecord("A", "soda", 100, 200, 1.0, 400.0, int(rng.integers(0, 50)))
        context = DayContext(weekday=0, month=1, weather=Weather.SUNNY)
        (record,) = draw_day_sales(np.random.default_rng(seed), [listing], context)
        seen_sold |= record.units > 0
        seen_unmet |= record.unmet_units > 0
    assert seen_sold and seen_unmet


def old_day_context(world) -> DayContext:
    """`_day_context` as it was: a new model validated every night."""
    day, start = world.day, world.config.start_date
    calendar = calendar_for_day(day, start)
    return DayContext(
        weekday=calendar.weekday,
        month=calendar.month,
        weather=overnight.day_weather((world.episode.seed, start), day),
        reputation=min(1.2, max(0.5, world.episode.reputation)),
    )


@pytest.mark.parametrize("seed", [0, 3, 2**40 + 7])
def test_a_nights_day_context_is_the_one_validated_afresh(tmp_path: Path, seed: int) -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "w.db"))
    try:
        env.reset(seed=seed)
        world = env.unwrapped.simulation.world
        rng = np.random.default_rng(seed)
        reputations = [0.1, 0.5, 0.5000000001, 0.97, 1.0, 1, 1.2, 1.3, float(rng.random())]
        for day in [*range(0, 400, 7), 5000, 70000]:
            world.set_clock(day, world.config.day_start_minute)
            for reputation in reputations:
                world.episode.reputation = reputation
                context = overnight._day_context(world)
                again = overnight._day_context(world)
                assert context == old_day_context(world)
                assert type(context.reputation) is float
                assert again is context  # an equal day's context, not a new one
    finally:
        env.close()


def test_a_day_context_cannot_change() -> None:
    context = DayContext(weekday=1, month=2, weather=Weather.RAINY, reputation=0.9)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        context.reputation = 1.0
    assert context.reputation == 0.9
