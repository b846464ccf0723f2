"""The world's rows in memory are plain slotted objects built from the schema (issue 8).

Each class in `state_rows` has its mapped class's columns as slots, its keyword
constructor and the columns' defaults; a column assignment on a held row is noticed by
its world, which writes the row at the step's commit. A step runs without SQLAlchemy's
attribute instrumentation.
"""

from __future__ import annotations

import copy
import cProfile
import pickle
import pstats

import gymnasium
import pytest
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import tycoon  # noqa: F401  (registers the environments)
from tycoon.agents import AGENTS
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world import schema, state_rows


def make_env(tmp_path, env_id: str = "tycoon/VendingYear-v0", days: int = 20):
    return gymnasium.make(
        env_id, db=f"sqlite:///{tmp_path / 'run.db'}", config={"max_days": days}
    ).unwrapped


def held_rows(world: VendingWorld) -> list[state_rows.StateRow]:
    rows: list[state_rows.StateRow] = [
        *world.products.values(),
        *world.prices.values(),
        *world.slots,
        *world.storage.values(),
        *world.suppliers.values(),
        *(offer for offers in world.offers.values() for offer in offers),
        *world.open_orders.values(),
        *(line for lines in world.order_lines.values() for line in lines),
        *world.emails.values(),
        *world.files.values(),
        *world.memory,
        *world.requests.values(),
        *world.world_events,
        *world.opportunities.values(),
    ]
    return rows


@pytest.mark.parametrize("plain", (*state_rows.HELD_CLASSES, state_rows.Episode))
def test_each_plain_class_has_its_mapped_class_columns(plain) -> None:
    mapped = getattr(schema, plain.__name__)
    keys = [attribute.key for attribute in sqlalchemy_inspect(mapped).column_attrs]
    assert list(plain.columns) == keys
    assert plain.__slots__ == tuple(keys)
    assert plain.__table__ is mapped.__table__
    row = plain()
    assert not hasattr(row, "__dict__"), "a plain row has slots only"
    for column in mapped.__table__.columns:
        default = column.default
        if default is None:
            assert getattr(row, column.name) is None, column.name
        elif not default.is_callable:
            assert getattr(row, column.name) == default.arg, column.name


def test_a_plain_row_takes_keywords_and_fresh_defaults() -> None:
    first = state_rows.WorldEvent(day=3, kind="storm")
    second = state_rows.WorldEvent(day=4, kind="storm", fired=False)
    assert (first.day, first.kind, first.fired, first.payload) == (3, "storm", True, {})
    assert second.fired is False
    first.payload["wind"] = 9
    assert second.payload == {}, "a callable default is called for each row"
    email = state_rows.Email(folder="inbox", subject="Hi", is_read=None)
    assert (email.is_read, email.processed, email.id) == (None, False, None)


def test_a_plain_row_refuses_an_unknown_keyword_or_attribute() -> None:
    with pytest.raises(TypeError, match="'colour' is an invalid keyword argument for Product"):
        state_rows.Product(sku="cola", colour="red")
    product = state_rows.Product(sku="cola")
    with pytest.raises(AttributeError):
        product.colour = "red"


def test_a_column_name_unlike_its_attribute_is_refused() -> None:
    class OtherBase(DeclarativeBase):
        pass

    class Renamed(OtherBase):
        __tablename__ = "renamed"
        id: Mapped[int] = mapped_column(primary_key=True)
        label: Mapped[str] = mapped_column("title")

    with pytest.raises(ValueError, match=r"Expected Renamed\.label to be stored in a column"):
        state_rows.state_class(Renamed)


def test_held_rows_are_plain_after_reset_and_resume(tmp_path) -> None:
    env = make_env(tmp_path, "tycoon/VendingProbes-v0")
    env.reset(seed=2)
    env.step('{"name": "get_balance", "arguments": {}}')
    episode_id = env.episode_id
    world = env.simulation.world
    rows = held_rows(world)
    assert rows and all(type(row) in state_rows.HELD_CLASSES for row in rows)
    assert not any(hasattr(row, "_sa_instance_state") for row in rows)
    assert all(row.holder is world for row in rows)
    assert type(world.episode) is state_rows.Episode
    values = [row.values() for row in rows]
    env.close()

    resumed = make_env(tmp_path, "tycoon/VendingProbes-v0")
    resumed.reset(options={"episode_id": episode_id})
    world = resumed.simulation.world
    rows = held_rows(world)
    assert all(type(row) in state_rows.HELD_CLASSES for row in rows)
    assert [row.values() for row in rows] == values
    assert world.episode.step_count == 1
    resumed.close()


def test_an_assignment_on_a_held_row_is_noticed_and_a_detached_one_is_not(tmp_path) -> None:
    env = make_env(tmp_path)
    env.reset(seed=1)
    world = env.simulation.world
    product = next(iter(world.products.values()))
    edits = world.edits
    product.name = "Renamed"
    assert product in world.changed_rows
    assert world.edits == edits + 1
    world.changed_rows.clear()
    detached = copy.copy(product)
    assert detached.holder is None and detached.name == "Renamed"
    detached.name = "Elsewhere"
    assert world.changed_rows == set() and product.name == "Renamed"
    restored = pickle.loads(pickle.dumps(product))
    assert restored.values() == product.values() and restored.holder is None
    world.episode.minute += 5  # the step writes the episode's counters itself
    assert world.changed_rows == set() and world.counters()["minute"] == world.minute
    env.close()


def test_the_world_refuses_a_mapped_row_and_changes_nothing(tmp_path) -> None:
    env = make_env(tmp_path)
    env.reset(seed=1)
    world = env.simulation.world
    edits, files = world.edits, dict(world.files)
    with pytest.raises(TypeError, match=r"Expected a row of tycoon\.envs\.world\.state_rows"):
        world.add(schema.File(path="/x.md", content="", modified_day=0))
    assert world.edits == edits and world.files == files
    assert not world.new_rows.get("files")
    env.close()


def test_stock_value_follows_quantity_and_cost_changes(tmp_path) -> None:
    env = make_env(tmp_path)
    env.reset(seed=1)
    world = env.simulation.world

    def summed() -> int:
        storage = sum(i.quantity * i.unit_cost_cents for i in world.storage.values())
        return storage + sum(s.quantity * s.unit_cost_cents for s in world.slots)

    assert world.inventory_value_cents() == summed()
    sku = next(iter(world.products))
    world.add_to_storage(sku, 10, 120)
    assert world.inventory_value_cents() == summed() == 1200
    world.storage[sku].unit_cost_cents = 150
    assert world.inventory_value_cents() == 1500
    slot = world.slots[0]
    slot.sku, slot.quantity, slot.unit_cost_cents = sku, 3, 100
    assert world.inventory_value_cents() == summed() == 1800
    world.storage[sku].quantity = 4
    assert world.inventory_value_cents() == summed() == 900
    env.close()


def test_a_step_runs_without_sqlalchemy_attribute_instrumentation(tmp_path) -> None:
    """A scripted run's steps (tools, nights, commits) call nothing in sqlalchemy.orm."""
    env = make_env(tmp_path, days=8)
    agent = AGENTS["baseline"](horizon_days=8)
    observation, info = env.reset(seed=5)
    agent.reset(observation, info)
    profile = cProfile.Profile()
    while True:
        action = agent.act(observation, info)
        profile.enable()
        observation, _, terminated, truncated, info = env.step(action)
        profile.disable()
        if terminated or truncated:
            break
    env.close()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    orm = sorted({f"{path}:{name}" for path, _, name in stats if "sqlalchemy/orm" in path})
    assert orm == [], f"Expected no ORM calls in a step, got {orm[:5]}"
