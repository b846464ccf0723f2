"""The arena's one adapter onto the single-agent vending economy (`tycoon.envs.vending`).

Every call the arena makes into the vending internals is in this module, so that the
arena follows when those internals change: creating an operator's world, running one
tool call on it (without its night), the listings of its machine, the night with the
market's sale, money figures, and the hooks (`MarketHooks`) the vending world calls
through its `market` seam: payees and addresses of other operators, and the shared
suppliers' stock.

The seams this module relies on in `tycoon.envs.vending` (each a few lines):
- `VendingWorld.market` (None outside an arena);
- `payments.find_payee` asks `world.market.payee(world, account)` before refusing;
- `supplier_desk.answer_mail` skips mail `world.market.takes_mail(world, email)` takes;
- `supplier_desk.ship_paid_orders` lets `world.market.fill(world, order, plan)` cut a
  delivery to what the shared supplier has;
- `overnight.run_overnight(world, sell=...)` takes the machine's sales from the market.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from tycoon.envs.arena.config import (
    ArenaConfig,
    seat_account,
    seat_email,
    seat_machine_address,
)
from tycoon.envs.arena.market import MachineOffer
from tycoon.envs.vending.actions import MAX_ACTION_CHARS, ToolCall, action_text
from tycoon.envs.vending.calls import CallOutcome, run_call
from tycoon.envs.vending.config import YEAR, VendingConfig
from tycoon.envs.vending.deliveries import DeliveredLine, DeliveryPlan
from tycoon.envs.vending.demand import DayContext, Listing, Sale, calendar_for_day, draw_weather
from tycoon.envs.vending.env import CHARSET, agent_briefing
from tycoon.envs.vending.genesis import new_episode
from tycoon.envs.vending.overnight import NightReport, run_overnight
from tycoon.envs.vending.probes.recorder import BehaviourRecorder
from tycoon.envs.vending.probes.runtime import ProbeRuntime
from tycoon.envs.vending.scenarios import ProbeSet
from tycoon.envs.vending.step_view import fit_observation as fit_observation  # the arena's too
from tycoon.envs.vending.tools import tools_for
from tycoon.envs.vending.tools.base import Tool, money, storable
from tycoon.envs.vending.world import (
    BANK,
    CARD_CLEARING,
    MACHINE_CASH,
    VendingWorld,
    WorldError,
)
from tycoon.envs.world.schema import Episode
from tycoon.envs.world.state_rows import Email, File, Order, Supplier

OPERATOR_PAYMENT = "operator_payment"
# what an action and an observation may be (the single-agent env's bounds and charset)
ACTION_CHARS = MAX_ACTION_CHARS
OBSERVATION_CHARSET = CHARSET
BANK_NOTICES = "notices@bank.vendarena.example"


# what one tool call did to one operator's world (the night is the market's): the
# single-agent step's own record
ToolOutcome = CallOutcome


# -- creating and opening operators ---------------------------------------------------


def operator_config(config: ArenaConfig, seat: int) -> VendingConfig:
    """The Year rules for one operator, at its stand of the site, with its address."""
    fields = {
        **YEAR.model_dump(),
        **config.operator_overrides,
        "max_days": config.max_days,
        "max_steps": None,
        "operator_email": seat_email(seat),
        "bank_account": seat_account(seat),
        "machine_address": seat_machine_address(seat),
        "probes": config.probes_for(seat),
    }
    return VendingConfig.model_validate(fields)


def create_operator(
    session: Session,
    *,
    env_id: str,
    seed: int,
    config: VendingConfig,
    scenario: str,
    agent: str,
    model: str,
    market_notes: str,
) -> int:
    """A new operator episode, its world drawn from the market's seed (every operator
    gets the same catalog and supplier directory: the suppliers are shared)."""
    connection = session.connection()
    world = new_episode(
        connection,
        env_id=env_id,
        seed=seed,
        config=config,
        scenario=scenario,
        agent=agent,
        model=model,
        run_spec=None,
    )
    world.add(File(path="/notes/market.md", content=market_notes, modified_day=0))
    if config.probes is not None:  # the seat's single-agent probes: their day 0
        install_probes(world).setup()
    world.write_changes(connection)
    return world.episode.id


def open_world(session: Session, episode_id: int) -> VendingWorld:
    connection = session.connection()
    config = connection.execute(
        select(Episode.config).where(Episode.id == episode_id)
    ).scalar_one_or_none()
    if config is None:
        raise LookupError(f"Expected an operator episode {episode_id}, got none")
    world = VendingWorld(connection, episode_id, VendingConfig.model_validate(config))
    world.connect = session.connection
    if world.config.probes is not None:
        install_probes(world)
    return world


def install_probes(world: VendingWorld) -> ProbeRuntime:
    """The operator's single-agent probes, wired into its world as in a single-agent
    episode (`world.probes`, `world.hooks`)."""
    assert world.config.probes is not None
    runtime = ProbeRuntime(world, world.config.probes)
    world.probes = world.hooks = runtime
    return runtime


def probe_recorder(world: VendingWorld) -> BehaviourRecorder | None:
    """The probes' behaviour recorder of an operator with probes (rule detectors; the
    judge reads the operators' mail through `judging`)."""
    if world.probes is None:
        return None
    return BehaviourRecorder(world.probes)


def briefing(world: VendingWorld) -> dict[str, Any]:
    """What an agent is told of its business at reset (`info["seed"]`, `info["briefing"]`),
    as a single-agent env tells it."""
    return agent_briefing(world.config, world.episode.seed)


def operator_tools(probes: ProbeSet | None = None) -> dict[str, type[Tool]]:
    """The operator's tools: the vending tools, and its probes' (if it has any)."""
    return {tool.name: tool for tool in tools_for(probes)}


def operator_tool_schemas(probes: ProbeSet | None = None) -> list[dict[str, Any]]:
    return [tool.openai_schema() for tool in tools_for(probes)]


def stored_action(action: Any) -> str:
    """The action as a step row stores it (bounded, storable on every database)."""
    return storable(action_text(action))


def stored_text(text: str) -> str:
    return storable(text)


def max_observation_chars(world: VendingWorld) -> int:
    return world.config.max_observation_chars


# -- one tool call --------------------------------------------------------------------


def execute(
    world: VendingWorld,
    tools: dict[str, type[Tool]],
    action: Any,
    guard: Callable[[ToolCall], str | None] | None = None,
    recorder: BehaviourRecorder | None = None,
) -> ToolOutcome:
    """Validate and run one call and charge its time; the day may end (no night here).
    `guard` may refuse a validated call before it runs (its error, or None); the probes'
    `recorder` is told what was tried, as a single-agent step tells it (`recorder.finish`
    after the step gives the events). The single-agent step's own `run_call`."""
    return run_call(world, tools, action, recorder=recorder, guard=guard)


# -- the machine in the market --------------------------------------------------------


def machine_offer(world: VendingWorld, name: str) -> MachineOffer:
    """What the operator's machine (its first) offers tonight, as the market sees it."""
    stock: dict[str, int] = {}
    for slot in world.slots:
        if slot.sku is not None and slot.machine_id == 1:
            stock[slot.sku] = stock.get(slot.sku, 0) + slot.quantity
    listings = [
        Listing.model_validate(
            {
                "sku": sku,
                "category": world.products[sku].category,
                "price_cents": world.price_of(sku),
                "reference_price_cents": world.products[sku].reference_price_cents,
                "elasticity": world.products[sku].elasticity,
                "base_daily_sales": world.products[sku].base_daily_sales,
                "units_in_machine": units,
            }
        )
        for sku, units in stock.items()
    ]
    reputation = min(1.2, max(0.5, world.episode.reputation))
    return MachineOffer(machine=name, listings=listings, reputation=reputation)


def day_context(world: VendingWorld) -> DayContext:
    """Today's calendar and weather (the same for every operator: one seed, one site)."""
    calendar = calendar_for_day(world.day, world.config.start_date)
    return DayContext(
        weekday=calendar.weekday,
        month=calendar.month,
        weather=draw_weather(world.rng("weather"), calendar.month),
    )


def run_night(world: VendingWorld, sales: list[Sale]) -> NightReport:
    """The operator's night, its customers being the market's `sales` for its machine."""
    return run_overnight(world, sell=lambda _world, _context: sales)


def night_text(world: VendingWorld, report: NightReport) -> str:
    return report.text(world)


def bank_cents(world: VendingWorld) -> int:
    return world.balance(BANK)


def machine_cash_cents(world: VendingWorld) -> int:
    return world.balance(MACHINE_CASH)


def net_worth_cents(world: VendingWorld) -> int:
    return world.net_worth_cents()


def pending_card_cents(world: VendingWorld) -> int:
    return world.balance(CARD_CLEARING)


def clock_text(world: VendingWorld) -> str:
    return world.clock_text()


def add_output_tokens(world: VendingWorld, tokens: int) -> None:
    """The operator's agent spent `tokens` output tokens: billed to its own bank at the
    weekly bill (Year rules), as a single-agent episode's are."""
    if tokens < 0:
        raise ValueError(f"Expected a non-negative token count, got {tokens}")
    world.episode.output_tokens_unbilled += tokens


def deliver(world: VendingWorld, sender: str, subject: str, body: str) -> None:
    world.deliver_email(sender, subject, body)


def credit_from_operator(world: VendingWorld, from_account: str, cents: int, memo: str) -> None:
    world.transfer(from_account, BANK, cents, kind=OPERATOR_PAYMENT, memo=memo)


def prices_on_machine(world: VendingWorld) -> dict[str, int]:
    """The price of every product in the operator's machine (stocked or not)."""
    skus = sorted({slot.sku for slot in world.slots if slot.sku is not None})
    return {sku: world.price_of(sku) for sku in skus}


def suppliers(world: VendingWorld) -> list[Supplier]:
    return [world.suppliers[key] for key in sorted(world.suppliers)]


def supplier_skus(session: Session, episode_id: int) -> dict[int, list[str]]:
    from tycoon.envs.world.schema import SupplierOffer

    rows = session.execute(
        select(SupplierOffer.supplier_id, SupplierOffer.sku)
        .where(SupplierOffer.episode_id == episode_id)
        .order_by(SupplierOffer.supplier_id, SupplierOffer.id)
    )
    carried: dict[int, list[str]] = {}
    for supplier_id, sku in rows:
        carried.setdefault(supplier_id, []).append(sku)
    return carried


def market_suppliers(world: VendingWorld) -> list[dict[str, str]]:
    """The shared suppliers with their hidden kinds (for the market detectors)."""
    return [
        {"email": s.email, "account": s.payment_account, "kind": s.kind} for s in suppliers(world)
    ]


def reference_prices(world: VendingWorld) -> dict[str, int]:
    return {sku: p.reference_price_cents for sku, p in sorted(world.products.items())}


def record_events(world: VendingWorld, rows: list[dict[str, Any]]) -> None:
    """Behaviour events into the operator's episode, in the step's transaction."""
    from tycoon.envs.world.schema import BehaviorEvent

    world.stage_rows(BehaviorEvent, rows)


def record_judge_verdicts(world: VendingWorld, rows: list[dict[str, Any]]) -> None:
    """The judge's verdicts into the operator's episode, in the step's transaction."""
    from tycoon.envs.world.schema import JudgeVerdictRecord

    world.stage_rows(JudgeVerdictRecord, rows)


def sent_email(world: VendingWorld, email_id: int) -> Email | None:
    return world.emails.get(email_id)


# -- the seam: what the vending world asks its market --------------------------------


class Market(Protocol):
    """What the hooks need from the arena's simulation."""

    def seat_of_world(self, world: VendingWorld) -> int: ...
    def seat_by_account(self, account: str) -> int | None: ...
    def seat_by_email(self, address: str) -> int | None: ...
    def pay_operator(self, from_seat: int, to_seat: int, cents: int, memo: str) -> None: ...
    def take_stock(self, seat: int, supplier_id: int, invoice: str, sku: str, units: int) -> int:
        """Units of `units` the shared supplier can ship (taken from its stock)."""
        ...


@dataclass(frozen=True)
class OperatorPayee:
    """Another operator's bank account, as `send_payment` sees a payee."""

    market: Market
    account: str
    to_seat: int
    kind: str = OPERATOR_PAYMENT

    def apply(self, world: VendingWorld, cents: int, memo: str) -> str:
        self.market.pay_operator(self.market.seat_of_world(world), self.to_seat, cents, memo)
        return f"The operator at {seat_email(self.to_seat)} has received it."


class MarketHooks:
    """Installed as `world.market` on every operator's world of an arena."""

    def __init__(self, market: Market) -> None:
        self.market = market

    def payee(self, world: VendingWorld, account: str) -> OperatorPayee | None:
        seat = self.market.seat_by_account(account)
        if seat is None:
            return None
        if seat == self.market.seat_of_world(world):
            raise WorldError("That is your own account; a payment to yourself changes nothing.")
        return OperatorPayee(self.market, account, seat)

    def takes_mail(self, world: VendingWorld, email: Email) -> bool:
        """Mail to another operator was routed when it was sent."""
        return self.market.seat_by_email(email.recipient) is not None

    def fill(self, world: VendingWorld, order: Order, plan: DeliveryPlan) -> DeliveryPlan:
        """Cut the delivery to the supplier's shared stock; refund what cannot ship."""
        if plan.arrival_day is None:
            return plan
        seat = self.market.seat_of_world(world)
        supplier = world.suppliers[order.supplier_id]
        lines: list[DeliveredLine] = []
        notes: list[str] = []
        refund = 0
        for line in plan.delivered:
            units = self.market.take_stock(
                seat, supplier.id, order.invoice_number, line.sku, line.quantity
            )
            if units < line.quantity:
                refund += (line.quantity - units) * line.unit_cost_cents
                notes.append(
                    f"{line.sku}: only {units} of {line.quantity} units in stock "
                    "(the supplier's stock is shared with other operators)."
                )
            if units > 0:
                lines.append(line.model_copy(update={"quantity": units}))
        if refund:
            world.transfer(
                supplier.payment_account,
                BANK,
                refund,
                kind="supplier_refund",
                memo=f"{order.invoice_number}: out of stock",
            )
            notes.append(f"{money(refund)} refunded to your bank for what could not ship.")
        if not notes:
            return plan
        return DeliveryPlan(
            arrival_day=plan.arrival_day, delivered=lines, note=" ".join([plan.note, *notes])
        )


def install_hooks(world: VendingWorld, hooks: MarketHooks) -> None:
    world.market = hooks
