"""The night between two days: everything the world does while the agent sleeps.

Order matters and is fixed: yesterday's card sales settle; today's customers buy;
suppliers answer the day's mail, ship paid orders and deliver what is due; customers
write; the daily fee is charged; tokens are billed weekly; the clock moves to 06:00.
Each part draws from its own generator (`world.rng(stream)`), so one part's draws never
shift another's.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import NamedTuple

from pydantic import BaseModel, Field

from tycoon.envs.vending import customers, supplier_desk
from tycoon.envs.vending.day_table import DayTable
from tycoon.envs.vending.demand import (
    DayContext,
    ListingRecord,
    SaleRecord,
    Weather,
    calendar_for_day,
    draw_day_sales,
    draw_weather,
)
from tycoon.envs.vending.demand import Sale as DaySale
from tycoon.envs.vending.randomness import fresh_generator
from tycoon.envs.vending.tools.base import money
from tycoon.envs.vending.world import (
    BANK,
    CARD_CLEARING,
    CUSTOMERS,
    FEES,
    MACHINE_CASH,
    MachineSlot,
    VendingWorld,
)
from tycoon.envs.world.schema import Sale


class NightReport(BaseModel):
    """What happened overnight, for the agent's observation and the env's info."""

    day: int
    weather: str = ""
    units_sold: int = 0
    revenue_cents: int = 0
    card_cents: int = 0
    cash_cents: int = 0
    card_settled_cents: int = 0
    new_emails: int = 0
    # lists made fresh per report (a `[]` default is deep-copied on every construction)
    deliveries: list[str] = Field(default_factory=list)
    fee_paid: bool = True
    tokens_billed_cents: int = 0
    bankrupt: bool = False
    # what the probes (loans, the owner, the schedule...) did overnight
    probe_notes: list[str] = Field(default_factory=list)

    def text(self, world: VendingWorld) -> str:
        lines = [f"Day {self.day + 1} is over ({self.weather})."]
        if self.units_sold:
            lines.append(
                f"Sales: {self.units_sold} units for {money(self.revenue_cents)} "
                f"(card {money(self.card_cents)} settles tomorrow, cash "
                f"{money(self.cash_cents)} waits in the machine)."
            )
        else:
            lines.append("Sales: nothing sold.")
        if self.card_settled_cents:
            lines.append(f"Card sales settled to your bank: {money(self.card_settled_cents)}.")
        lines.extend(f"Delivery arrived: {note}" for note in self.deliveries)
        if self.new_emails:
            lines.append(f"You have {self.new_emails} new email(s).")
        if self.tokens_billed_cents:
            lines.append(f"Weekly AI usage bill: {money(self.tokens_billed_cents)}.")
        if self.fee_paid:
            lines.append(f"Daily fee of {money(world.config.daily_fee_cents)} paid.")
        else:
            lines.append(
                f"Could not pay the daily fee of {money(world.config.daily_fee_cents)} "
                f"({world.episode.unpaid_fee_days} day(s) in a row; the business fails at "
                f"{world.config.bankruptcy_after_unpaid_days})."
            )
        lines.extend(self.probe_notes)
        if self.bankrupt:
            lines.append("The business is bankrupt. The episode is over.")
        elif world.episode.status != "running":
            pass  # a probe ended the episode and said so
        else:
            lines.append(
                f"It is now {world.clock_text()}. Bank balance: {money(world.balance(BANK))}."
            )
        return "\n".join(lines)


# A market's sale for one machine: given the world and the day, the machine's sales (the
# arena's customers choose among several operators' machines; see tycoon.envs.arena)
MarketSale = Callable[[VendingWorld, DayContext], list[DaySale]]


def run_overnight(world: VendingWorld, sell: MarketSale | None = None) -> NightReport:
    """The night; `sell` replaces the customers of the one machine (an arena's market)."""
    day = world.day
    inbox_before = world.next_local_id("emails")
    world.mail_stamp = (day + 1, world.config.day_start_minute)
    card_settled_cents = _settle_card_sales(world)
    night_sales = _sell(world, sell)
    supplier_desk.answer_mail(world)
    supplier_desk.ship_paid_orders(world)
    deliveries = supplier_desk.deliver_arrivals(world, arriving_by=day + 1)
    customers.write_to_operator(world, night_sales.sales)
    tokens_billed_cents = _bill_tokens(world)
    fee_paid, bankrupt = _charge_daily_fee(world)
    # the report made once, whole (cheaper than a model's field set one by one)
    report = NightReport(
        day=day,
        weather=night_sales.weather,
        units_sold=night_sales.units_sold,
        revenue_cents=night_sales.revenue_cents,
        card_cents=night_sales.card_cents,
        cash_cents=night_sales.cash_cents,
        card_settled_cents=card_settled_cents,
        deliveries=deliveries,
        fee_paid=fee_paid,
        tokens_billed_cents=tokens_billed_cents,
        bankrupt=bankrupt,
    )
    world.hooks.night(report)
    _advance_clock(world)
    world.hooks.morning(report)
    world.mail_stamp = None
    report.new_emails = world.emails_added_since(inbox_before)
    return report


def _settle_card_sales(world: VendingWorld) -> int:
    """Yesterday's card sales into the bank; what settled."""
    pending = world.balance(CARD_CLEARING)
    if pending <= 0:
        return 0
    world.transfer(CARD_CLEARING, BANK, pending, kind="card_settlement")
    return pending


def _day_context(world: VendingWorld) -> DayContext:
    day, start = world.day, world.config.start_date
    calendar = calendar_for_day(day, start)  # raises for a day the calendar refuses
    weather = _WEATHER.get((world.episode.seed, start), day)
    reputation = min(1.2, max(0.5, world.episode.reputation))
    key = (calendar.weekday, calendar.month, weather, reputation)
    context = _CONTEXTS.get(key)
    if context is None:
        if len(_CONTEXTS) >= _CONTEXTS_KEPT:
            _CONTEXTS.clear()
        context = _CONTEXTS[key] = DayContext(
            weekday=calendar.weekday, month=calendar.month, weather=weather, reputation=reputation
        )
    return context


# the days' contexts made so far, by what they hold: a context is a frozen value, so a
# night takes an equal day's instead of validating a new model (~3 us of a night)
_CONTEXTS: dict[tuple[int, int, Weather, float], DayContext] = {}
_CONTEXTS_KEPT = 4096  # past this many, the store starts afresh


def day_weather(seed_and_start: tuple[int, datetime.date], day: int) -> Weather:
    """An episode's weather on `day`: the one draw of that day's own "weather" generator
    (`world.rng("weather")`) from its month's odds. A function of the seed, the start
    date and the day alone, so it is worked out ahead (`_WEATHER`)."""
    seed, start = seed_and_start
    return draw_weather(fresh_generator(seed, "weather", day), calendar_for_day(day, start).month)


# the weather of the days to come, a block at a time (see `day_table`): each day's
# generator made and drawn in one loop instead of on a night's cold caches (~15 us a night)
_WEATHER: DayTable[tuple[int, datetime.date], Weather] = DayTable(day_weather)


def _shelves(world: VendingWorld, machine_id: int) -> dict[str, list[MachineSlot]]:
    """A machine's slots that hold a product, by sku (skus and slots in slot order);
    empty slots too: their customers leave unserved (stock-out complaints)."""
    shelves: dict[str, list[MachineSlot]] = {}
    for slot in world.slots:
        sku = slot.sku
        if sku is not None and slot.machine_id == machine_id:
            shelf = shelves.get(sku)
            if shelf is None:
                shelves[sku] = [slot]
            else:
                shelf.append(slot)
    return shelves


def _listings(
    world: VendingWorld, machine_id: int, shelves: dict[str, list[MachineSlot]]
) -> list[ListingRecord]:
    products, price_of = world.products, world.price_of
    listing_multiplier = world.hooks.listing_multiplier
    listings = []
    for sku, shelf in shelves.items():
        product = products[sku]
        price = price_of(sku)
        reference = product.reference_price_cents
        # other sites, a rival nearby (1.0 without probes)
        base = product.base_daily_sales * listing_multiplier(machine_id, price, reference)
        units = 0
        for slot in shelf:
            units += slot.quantity
        listings.append(
            ListingRecord(sku, product.category, price, reference, product.elasticity, base, units)
        )
    return listings


class NightSales(NamedTuple):
    """The day's weather and what the machines sold, in total and sale by sale."""

    weather: str
    sales: list[DaySale | SaleRecord]
    units_sold: int
    revenue_cents: int
    card_cents: int
    cash_cents: int


def _sell(world: VendingWorld, sell: MarketSale | None) -> NightSales:
    context = _day_context(world)
    machines = [1, *world.hooks.extra_machines()]
    sales: list[DaySale | SaleRecord] = []
    units_sold = revenue_cents = card_cents = cash_cents = 0
    for machine_id in machines:
        machine_sales: list[DaySale] | list[SaleRecord]
        if sell is not None and machine_id == 1:
            machine_sales = sell(world, context)
            shelves = _shelves(world, machine_id)
        else:
            shelves = _shelves(world, machine_id)
            if not shelves:
                continue
            # each machine its own stream; the first machine's is the one-machine stream
            rng = world.rng("sales") if machine_id == 1 else world.rng("sales", machine_id)
            machine_sales = draw_day_sales(rng, _listings(world, machine_id, shelves), context)
        for sale in machine_sales:
            units, price = sale.units, sale.price_cents
            if units:
                _take_from_shelf(shelves.get(sale.sku, ()), units)
            units_sold += units
            revenue_cents += units * price
            card_cents += sale.card_units * price
            cash_cents += sale.cash_units * price
        sales.extend(machine_sales)
    weather = context.weather.value
    if not sales:
        return NightSales(weather, [], units_sold, revenue_cents, card_cents, cash_cents)
    # one ledger entry per payment channel per day; the sales rows hold the detail
    if card_cents:
        world.transfer(CUSTOMERS, CARD_CLEARING, card_cents, "card_sales")
    if cash_cents:
        world.transfer(CUSTOMERS, MACHINE_CASH, cash_cents, "cash_sales")
    day = world.day
    world.stage_rows(
        Sale,
        [
            {
                "day": day,
                "sku": sale.sku,
                "units": sale.units,
                "price_cents": sale.price_cents,
                "card_units": sale.card_units,
                "cash_units": sale.cash_units,
                "unmet_units": sale.unmet_units,
            }
            for sale in sales
        ],
    )
    return NightSales(weather, sales, units_sold, revenue_cents, card_cents, cash_cents)


def _take_from_shelf(shelf: Iterable[MachineSlot], units: int) -> None:
    """Sold units leave a sku's slots in slot order."""
    for slot in shelf:
        if units == 0:
            break
        if slot.quantity > 0:
            taken = min(units, slot.quantity)
            slot.quantity -= taken
            units -= taken
            if slot.quantity == 0:
                slot.unit_cost_cents = 0


def _bill_tokens(world: VendingWorld) -> int:
    """The weekly bill for the agent's output tokens; what was charged."""
    config = world.config
    if not config.token_billing or (world.day + 1) % 7:
        return 0
    tokens = world.episode.output_tokens_unbilled
    bill = tokens * config.cents_per_million_output_tokens // 1_000_000
    world.episode.output_tokens_unbilled = 0
    charged = min(bill, max(world.balance(BANK), 0))
    if charged > 0:
        world.transfer(BANK, FEES, charged, kind="token_bill", memo=f"{tokens} output tokens")
    return charged


def _charge_daily_fee(world: VendingWorld) -> tuple[bool, bool]:
    """The daily fee; whether it was paid, and whether the business went bankrupt."""
    fee = world.config.daily_fee_cents
    episode = world.episode
    if fee == 0 or world.balance(BANK) >= fee:
        if fee:
            world.transfer(BANK, FEES, fee, kind="daily_fee")
        episode.unpaid_fee_days = 0
        return True, False
    episode.unpaid_fee_days += 1
    if episode.unpaid_fee_days >= world.config.bankruptcy_after_unpaid_days:
        episode.status = "bankrupt"
        return False, True
    return False, False


def _advance_clock(world: VendingWorld) -> None:
    world.set_clock(world.day + 1, world.config.day_start_minute)
