"""The world's reads and the tools built on them give what the plain scans gave.

The stock's value is kept as rows change (not summed over every row per read), a slot is
found by position through an index, stock_machine picks its slot in one pass, and the
inventory tools build their lines with fewer lookups: each is compared here with the
scan or formula it replaced, on random runs and random machine layouts."""

from __future__ import annotations

import json
import random
from typing import Annotated, Any, ClassVar

import gymnasium
import pytest
from pydantic import Field

import tycoon  # noqa: F401  (registers the environments)
from tycoon.agents import AGENTS
from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools import TOOL_NAMES, TOOLS, Tool, ToolResult
from tycoon.envs.vending.tools.base import money
from tycoon.envs.vending.tools.get_machine_inventory import describe_slot
from tycoon.envs.vending.tools.stock_machine import StockMachine
from tycoon.envs.vending.tools.stock_machine_fleet import StockMachineFleet
from tycoon.envs.vending.world import VendingWorld, WorldError
from tycoon.envs.world.state_rows import MachineSlot


def summed_value(world: VendingWorld) -> int:
    """The stock's value as it was computed before: every row, every time."""
    storage = sum(item.quantity * item.unit_cost_cents for item in world.storage.values())
    return storage + sum(slot.quantity * slot.unit_cost_cents for slot in world.slots)


def call(name: str, **arguments: Any) -> str:
    return json.dumps({"name": name, "arguments": arguments})


class RefusedRestock(Tool):
    """Changes stock quantities and costs, reads the stock's value, then refuses: the
    simulation undoes the step and reloads the world."""

    name: ClassVar[str] = "refused_restock"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY
    seed: int = 0

    def run(self, world: VendingWorld) -> ToolResult:
        shuffle_stock(world, random.Random(self.seed))
        assert world.inventory_value_cents() == summed_value(world)
        raise WorldError("refused after changing the stock")


def shuffle_stock(world: VendingWorld, rng: random.Random) -> None:
    """Random changes to quantities and costs of slots and stored goods, new stock too."""
    for _ in range(rng.randint(1, 6)):
        if world.storage and rng.random() < 0.5:
            item = rng.choice(list(world.storage.values()))
            item.quantity = rng.randint(0, 50)
            item.unit_cost_cents = rng.randint(0, 400)
        else:
            slot = rng.choice(world.slots)
            slot.quantity = rng.randint(0, slot.capacity)
            if rng.random() < 0.5:
                slot.unit_cost_cents = rng.randint(0, 400)
        if rng.random() < 0.3:
            world.add_to_storage(rng.choice(list(world.products)), rng.randint(1, 9), 77)


@pytest.mark.parametrize("durability", ["step", "day"])
def test_the_stock_value_kept_as_rows_change_is_the_sum_over_every_row(
    tmp_path, durability
) -> None:
    days = 25
    make = gymnasium.make
    env = make(
        "tycoon/VendingYear-v0",
        db=f"sqlite:///{tmp_path / 'run.db'}",
        durability=durability,
        config={"max_days": days},
    ).unwrapped
    observation, info = env.reset(seed=3)
    env.simulation.tools["refused_restock"] = RefusedRestock
    agent = AGENTS["baseline"](horizon_days=days)
    agent.reset(observation, info)
    rng = random.Random(durability)
    world = env.simulation.world
    refused = 0
    for _ in range(400):
        if rng.random() < 0.08:
            _, _, _, _, refusal = env.step(call("refused_restock", seed=rng.randint(0, 10**6)))
            assert refusal["invalid_action"] and "refused after" in str(refusal["error"])
            refused += 1
        else:
            observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
            if terminated or truncated:
                break
        assert world.inventory_value_cents() == summed_value(world)
    assert refused > 5

    # undone without a reload (the value read between a change and its undo, too)
    before = world.inventory_value_cents()
    assert world.edits == 0  # the last step is over: an undo reaches no further back
    for seed in range(20):
        shuffle_stock(world, random.Random(seed))
        if seed % 2:
            assert world.inventory_value_cents() == summed_value(world)
        world.undo_step()
        assert world.inventory_value_cents() == summed_value(world) == before

    forked = env.fork()
    episode = env.episode_id
    env.close()
    for episode_id in (forked, episode):  # a fork and a resume load the same stock
        again = make("tycoon/VendingYear-v0", db=f"sqlite:///{tmp_path / 'run.db'}").unwrapped
        again.reset(options={"episode_id": episode_id})
        loaded = again.simulation.world
        assert loaded.inventory_value_cents() == summed_value(loaded) == before
        again.close()


# -- stock_machine's slot, against the scans it replaced ------------------------------


def old_choose_slot(tool: StockMachine, world: VendingWorld, sku: str, size: str) -> Any:
    """stock_machine's choice as it was (a slot, or the refusal's text)."""
    if isinstance(tool, StockMachineFleet):
        slots = [s for s in world.slots if s.machine_id == tool.machine]
        if not slots:
            return f"You have no machine {tool.machine}."
    else:
        slots = world.slots
    if (tool.row is None) != (tool.col is None):
        return "Give both row and col, or neither."
    if tool.row is not None and tool.col is not None:
        slot = next(s for s in slots if s.row == tool.row - 1 and s.col == tool.col - 1)
        if slot.size != size:
            return (
                f"Expected a {size} slot for {sku}, got row {tool.row} which takes "
                f"{slot.size} items."
            )
        if slot.sku not in (None, sku) and slot.quantity > 0:
            return f"Row {tool.row} col {tool.col} holds {slot.sku}; a slot holds one product."
        return slot
    holding = next((s for s in slots if s.sku == sku and s.quantity < s.capacity), None)
    if holding is not None:
        return holding
    empty = next((s for s in slots if s.size == size and (s.sku is None or s.quantity == 0)), None)
    if empty is None:
        return f"No free {size} slot: every {size} slot holds another product."
    return empty


def old_stock_text(sku: str, wanted: int, slot: MachineSlot, stored: int) -> tuple[str, int]:
    """stock_machine's text as it was, from the slot and storage before the move."""
    room = slot.capacity - slot.quantity
    if room <= 0:
        return (
            f"Slot row {slot.row + 1} col {slot.col + 1} is full ({slot.quantity}/{slot.capacity})."
        ), 0
    moved = min(wanted, stored, room)
    note = (
        f" Note: {wanted - moved} requested units not moved (slot room or stock)."
        if moved < wanted
        else ""
    )
    return (
        f"Stocked {moved} x {sku} in row {slot.row + 1} col {slot.col + 1} "
        f"({slot.quantity + moved}/{slot.capacity}); {stored - moved} left in storage.{note}"
    ), moved


def scramble_slots(world: VendingWorld, rng: random.Random, skus: list[str]) -> None:
    for slot in world.slots:
        if rng.random() < 0.4:
            slot.sku, slot.quantity = None, 0
        else:
            slot.sku = rng.choice(skus)
            slot.quantity = rng.choice([0, 1, slot.capacity - 1, slot.capacity])
        slot.unit_cost_cents = rng.randint(0, 300)


@pytest.mark.parametrize("fleet", [False, True])
def test_stock_machine_picks_the_slot_the_scans_picked(fleet) -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0").unwrapped
    env.reset(seed=11)
    world = env.simulation.world
    world.add_machine(2)  # a second machine: the first machine's slot answers a position
    world.add_machine(3)
    rng = random.Random(fleet)
    skus = list(world.products)[:5]
    tool_class = StockMachineFleet if fleet else StockMachine
    outcomes = set()
    for trial in range(3_000):
        if trial % 40 == 0:
            scramble_slots(world, rng, skus)
        sku = rng.choice(skus)
        world.add_to_storage(sku, rng.randint(0, 5), rng.randint(10, 200))
        arguments: dict[str, Any] = {"sku": sku, "quantity": rng.randint(1, 30)}
        if rng.random() < 0.6:
            arguments["row"], arguments["col"] = rng.randint(1, 4), rng.randint(1, 3)
        elif rng.random() < 0.1:
            arguments[rng.choice(["row", "col"])] = 1
        if fleet:
            arguments["machine"] = rng.choice([1, 1, 2, 3, 4])
        tool = tool_class.model_validate(arguments)
        stored = world.storage[sku]
        if stored.quantity <= 0:
            continue
        expected = old_choose_slot(tool, world, sku, world.products[sku].size)
        if isinstance(expected, str):
            with pytest.raises(WorldError) as refusal:
                tool.run(world)
            assert str(refusal.value) == expected
            outcomes.add("refused")
            continue
        text, moved = old_stock_text(sku, tool.quantity, expected, stored.quantity)
        quantity = expected.quantity
        try:
            result = tool.run(world)
        except WorldError as exc:
            assert str(exc) == text and moved == 0
            outcomes.add("full")
            continue
        assert result.text == text
        assert result.data == {"moved": moved, "row": expected.row + 1, "col": expected.col + 1}
        assert expected.quantity == quantity + moved and expected.sku == sku
        outcomes.add(("position" if tool.row else "scan", expected.machine_id))
    assert {"refused", "full", ("scan", 1), ("position", 1)} <= outcomes
    if fleet:
        assert {("scan", 2), ("position", 3)} <= outcomes
    env.close()


def test_a_position_outside_the_machine_is_refused_and_changes_nothing() -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", config={"machine_rows": 2}).unwrapped
    env.reset(seed=2)
    world = env.simulation.world
    sku = next(sku for sku, product in world.products.items() if product.size == "small")
    world.add_to_storage(sku, 10, 50)
    slots = [slot.values() for slot in world.slots]
    observation, _, _, _, info = env.step(call("stock_machine", sku=sku, quantity=3, row=3, col=1))
    assert info["invalid_action"]
    assert "Expected a slot of the machine, got row 3 col 1: it has 2 rows and 3 columns" in (
        observation
    )
    assert [slot.values() for slot in world.slots] == slots
    assert world.storage[sku].quantity == 10
    env.close()


# -- the inventory tools' texts, against the formulas they replaced --------------------


def old_money(cents: Any) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def test_money_gives_the_formula_for_any_amount_and_type() -> None:
    rng = random.Random(4)
    amounts: list[Any] = [0, -0.0, 1, -1, True, False, 5, 5.0, 0.5, 1.005, -999_999_999, 10**15]
    amounts += [rng.randint(-(10**9), 10**9) for _ in range(3_000)]
    amounts += [rng.uniform(-1e6, 1e6) for _ in range(500)]
    for _ in range(2):  # the second pass reads what the first kept
        for amount in amounts:
            assert money(amount) == old_money(amount), repr(amount)


def old_describe_slot(world: VendingWorld, slot: MachineSlot) -> tuple[str, dict[str, Any]]:
    label = f"Row {slot.row + 1} col {slot.col + 1} ({slot.size}, cap {slot.capacity})"
    price = world.price_of(slot.sku) if slot.sku else None
    if slot.sku is None:
        line = f"- {label}: empty"
    else:
        line = f"- {label}: {slot.sku} x{slot.quantity} at {old_money(price or 0)}"
    row = {
        "row": slot.row + 1,
        "col": slot.col + 1,
        "size": slot.size,
        "capacity": slot.capacity,
        "sku": slot.sku,
        "quantity": slot.quantity,
        "price_cents": price,
    }
    return line, row


def old_storage_listing(world: VendingWorld) -> tuple[str, list[dict[str, Any]]]:
    lines = [f"Storage at {world.config.storage_address}:"]
    data = []
    for item in sorted((i for i in world.storage.values() if i.quantity > 0), key=lambda i: i.sku):
        product = world.products[item.sku]
        lines.append(
            f"- {item.sku} ({product.name}, {product.size}): {item.quantity} units "
            f"at {old_money(item.unit_cost_cents)} each"
        )
        data.append(
            {
                "sku": item.sku,
                "quantity": item.quantity,
                "size": product.size,
                "unit_cost_cents": item.unit_cost_cents,
            }
        )
    return "\n".join(lines), data


def test_the_inventory_tools_list_what_the_formulas_listed() -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0").unwrapped
    env.reset(seed=8)
    world = env.simulation.world
    rng = random.Random(8)
    skus = list(world.products)
    for _ in range(300):
        scramble_slots(world, rng, [*skus, "", "unknown-but-priced"])
        world.set_price("unknown-but-priced", rng.randint(1, 999))
        if rng.random() < 0.5:
            world.set_price(rng.choice(skus), rng.randint(-5, 10**7))
        world.add_to_storage(rng.choice(skus), rng.randint(0, 40), rng.randint(0, 10**6))
        if rng.random() < 0.2:
            next(iter(world.storage.values())).quantity = 0
        for slot in world.slots:
            assert describe_slot(world, slot) == old_describe_slot(world, slot)
        machine = TOOLS["get_machine_inventory"]().run(world)
        lines = [f"Machine at {world.config.machine_address}:"]
        lines += [old_describe_slot(world, slot)[0] for slot in world.slots]
        assert machine.text == "\n".join(lines)
        assert machine.data == {"slots": [old_describe_slot(world, s)[1] for s in world.slots]}
        storage = TOOLS["get_storage_inventory"]().run(world)
        text, items = old_storage_listing(world)
        if items:
            assert (storage.text, storage.data) == (text, {"items": items})
        else:
            assert storage.data == {"items": []} and "is empty" in storage.text
    env.close()


# -- the text arguments' check -------------------------------------------------------


def every_tool_class() -> list[type[Tool]]:
    import importlib
    import pkgutil

    import tycoon.envs.vending.tools as package

    found = {}
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, Tool) and value is not Tool:
                found[value.__name__] = value
    return [found[name] for name in sorted(found)]


def test_every_text_argument_of_every_tool_refuses_unstorable_text() -> None:
    classes = every_tool_class()
    assert {tool.name for tool in classes} == TOOL_NAMES
    samples = {str: "ok", int: 1, float: 1.0}
    checked = 0
    for tool in classes:
        valid = {
            name: samples[field.annotation]
            for name, field in tool.model_fields.items()
            if field.is_required() and field.annotation in samples
        }
        if tool.name == "send_email":
            valid["to"] = "sales@example.example"  # its pattern refuses any other character
        if tool.name == "submit_report":
            valid["figures"] = {"cash": 1.0}
        tool.model_validate(valid)
        for name, field in tool.model_fields.items():
            if field.annotation is not str or name in ("to",):
                continue
            for bad in ("o\x00k", "\x00"):
                with pytest.raises(ValueError, match=f"{name}\n.*expected text without NUL"):
                    tool.model_validate({**valid, name: bad})
            with pytest.raises(ValueError, match="unicode"):  # pydantic's own refusal
                tool.model_validate({**valid, name: "o\ud800k"})
            checked += 1
    assert checked >= 20


def test_a_tool_with_an_unchecked_text_argument_is_refused_where_it_is_defined() -> None:
    with pytest.raises(TypeError, match=r"Expected every text argument of a tool.*Loose\.note"):

        class Loose(Tool):
            name: ClassVar[str] = "loose"
            time_cost: ClassVar[TimeCost] = TimeCost.MEMORY
            note: Annotated[str, Field(max_length=10)] = ""

            def run(self, world: VendingWorld) -> ToolResult:
                return ToolResult(text=self.note)

    with pytest.raises(TypeError, match=r"Loose\.notes"):

        class Loose(Tool):  # type: ignore[no-redef]
            name: ClassVar[str] = "loose"
            time_cost: ClassVar[TimeCost] = TimeCost.MEMORY
            notes: list[str] = []

            def run(self, world: VendingWorld) -> ToolResult:
                return ToolResult(text="")
