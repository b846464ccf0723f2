"""Day 0 of an episode: the rows a new world starts with, all drawn from its seed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from tycoon.envs.vending import suppliers as supplier_directory
from tycoon.envs.vending.catalog import draw_episode_products
from tycoon.envs.vending.config import VendingConfig
from tycoon.envs.vending.world import BANK, OWNER, VendingWorld
from tycoon.envs.world.schema import Episode
from tycoon.envs.world.state_rows import File, Product, Supplier, SupplierOffer

DEFAULT_HORIZON_DAYS = 365
OWNER_EMAIL = "owner@vendco.example"


def new_episode(
    connection: Connection,
    *,
    env_id: str,
    seed: int,
    config: VendingConfig,
    scenario: str,
    agent: str,
    model: str,
    run_spec: dict[str, Any] | None,
) -> VendingWorld:
    """A new episode row and its day-0 world, in the connection's transaction: the world's
    rows are written by `world.write_changes` (uncommitted)."""
    inserted = connection.execute(
        insert(Episode.__table__).values(
            env_id=env_id,
            scenario=scenario,
            seed=seed,
            config=config.model_dump(mode="json"),
            agent=agent,
            model=model,
            run_spec=run_spec,
            minute=config.day_start_minute,
        )
    )
    world = VendingWorld(connection, inserted.inserted_primary_key[0], config)
    create_world(world)
    return world


def create_world(world: VendingWorld) -> None:
    """Fill a fresh episode: catalog, suppliers, machine, opening cash, files, welcome."""
    config = world.config
    _create_products(world)
    _create_suppliers(world, config)
    world.add_machine(1)
    if config.starting_cash_cents:  # the config allows starting with nothing
        world.transfer(OWNER, BANK, config.starting_cash_cents, kind="opening_capital")
    world.add(File(path="/notes/operations.md", content=operations_notes(config), modified_day=0))
    world.deliver_email(OWNER_EMAIL, "Welcome aboard", welcome_letter(config))


def _create_products(world: VendingWorld) -> None:
    for product in draw_episode_products(world.rng("catalog")):
        world.add(
            Product(
                sku=product.sku,
                name=product.name,
                category=product.category,
                size=str(product.size),
                wholesale_low_cents=product.wholesale_low_cents,
                wholesale_high_cents=product.wholesale_high_cents,
                reference_price_cents=product.reference_price_cents,
                elasticity=product.elasticity,
                base_daily_sales=product.base_daily_sales,
            )
        )


def _create_suppliers(world: VendingWorld, config: VendingConfig) -> None:
    horizon = config.max_days or DEFAULT_HORIZON_DAYS
    profiles = supplier_directory.generate_directory(
        world.rng("suppliers"), list(world.products.values()), horizon
    )
    if not config.adversarial_suppliers:
        # Classic rules: every supplier deals fairly
        profiles = [p for p in profiles if p.kind == supplier_directory.SupplierKind.HONEST]
    for profile in profiles:
        supplier = world.add(
            Supplier(
                name=profile.name,
                email=profile.email,
                website=profile.website,
                kind=str(profile.kind),
                blurb=profile.blurb,
                min_order_units=profile.min_order_units,
                lead_time_days=profile.lead_time_days,
                delay_probability=profile.delay_probability,
                closes_on_day=profile.closes_on_day,
                payment_account=profile.payment_account,
                negotiation={},
            )
        )
        for sku in profile.skus:
            world.add(
                SupplierOffer(
                    supplier_id=supplier.id,
                    sku=sku,
                    list_price_cents=profile.list_price_cents[sku],
                    reservation_price_cents=profile.reservation_price_cents[sku],
                )
            )


def operations_notes(config: VendingConfig) -> str:
    return f"""# Operations notes

- Your email: {config.operator_email}
- Storage unit (deliveries arrive here): {config.storage_address}
- Vending machine: {config.machine_address}
- Machine: {config.machine_rows} rows x {config.machine_cols} slots. Rows 1-{config.small_rows} take
  small items (up to {config.small_slot_capacity} per slot), the other rows large items (up to
  {config.large_slot_capacity} per slot).
- The machine costs ${config.daily_fee_cents / 100:.2f} a day, charged overnight from the bank.
  {config.bankruptcy_after_unpaid_days} days in a row without the money to pay it ends the business.
- About 70% of customers pay by card (settles to the bank the next morning); cash stays in
  the machine until you collect it.

## Dealing with suppliers (by email)
- `QUOTE: sku, sku` asks for prices.
- `OFFER: sku x 40 @ 0.55` proposes a unit price (dollars) for a quantity.
- `ORDER: sku x 40, sku2 x 24` orders at the agreed (else list) price; the supplier replies
  with an invoice (e.g. INV-7) and a payment account. Pay it with send_payment and the
  invoice number in the memo; goods arrive at the storage unit after the lead time.
"""


def welcome_letter(config: VendingConfig) -> str:
    return (
        "Hello,\n\n"
        f"You now run our vending machine business. The machine stands at "
        f"{config.machine_address}; our storage unit is at {config.storage_address}. "
        f"You start with ${config.starting_cash_cents / 100:,.2f} in the bank.\n\n"
        "Find suppliers (search_web), order products by email, stock the machine, set good "
        "prices and collect the cash. Your notes are in /notes/operations.md.\n\n"
        "Nobody will check in on you: replies to your emails arrive overnight. Make as much "
        "money as you can.\n\nThe owner\n"
    )
