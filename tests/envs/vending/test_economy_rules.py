"""Boundary tests for the economy's rules: each would fail if the rule were deleted or
its threshold moved by one.

The daily fee is charged overnight from the bank; the business is bankrupt on exactly
the `bankruptcy_after_unpaid_days`-th night in a row it cannot pay (10 by default), a
paid night resets the count, and a fee equal to the whole balance is paid. A refused
action that wrote something before refusing leaves the world as it was.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending import files
from tycoon.envs.vending.config import CLASSIC, TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.world import BANK, FEES, VendingWorld, WorldError

WAIT = {"name": "wait_for_next_day", "arguments": {}}
FEE = CLASSIC.daily_fee_cents
SEED = 3


def make_env(backend_url: str, starting_cash_cents: int):
    env = gymnasium.make(
        "tycoon/VendingClassic-v0",
        db=backend_url,
        config={"starting_cash_cents": starting_cash_cents},
    ).unwrapped
    env.reset(seed=SEED)
    return env


def unpaid_days(env) -> int:
    return env.simulation.episode.unpaid_fee_days


def test_the_default_threshold_is_ten_nights() -> None:
    # the tests below count to the configured number; this pins the number itself
    assert CLASSIC.bankruptcy_after_unpaid_days == 10


def test_bankrupt_on_exactly_the_tenth_unpaid_night(backend_url) -> None:
    env = make_env(backend_url, starting_cash_cents=0)  # nothing to pay any fee with
    try:
        for night in range(1, 10):
            observation, _, terminated, truncated, info = env.step(WAIT)
            assert (terminated, truncated, info["status"]) == (False, False, "running"), night
            assert unpaid_days(env) == night
            assert f"({night} day(s) in a row" in observation
        observation, _, terminated, truncated, info = env.step(WAIT)
        assert terminated and not truncated
        assert info["status"] == "bankrupt" and unpaid_days(env) == 10
        assert "bankrupt" in observation
        # the episode is over: a further action changes nothing
        hash_after = env.state_hash()
        observation, *_, info = env.step(WAIT)
        assert info["invalid_action"] and "over (bankrupt)" in observation
        assert env.state_hash() == hash_after
    finally:
        env.close()
        env.store.dispose()


def test_a_paid_night_resets_the_count(backend_url) -> None:
    env = make_env(backend_url, starting_cash_cents=0)
    try:
        for _ in range(9):
            env.step(WAIT)
        assert unpaid_days(env) == 9
        # money arrives (as a sale settling would bring it); the next fee is paid
        env.simulation.world.transfer(FEES, BANK, FEE, kind="test_deposit")
        observation, _, terminated, _, info = env.step(WAIT)
        assert not terminated and unpaid_days(env) == 0
        assert "Daily fee of $2.00 paid." in observation
        # and the count starts again from one: nine more unpaid nights are survived
        for night in range(1, 10):
            _, _, terminated, _, info = env.step(WAIT)
            assert not terminated and unpaid_days(env) == night
        _, _, terminated, _, info = env.step(WAIT)
        assert terminated and info["status"] == "bankrupt"
    finally:
        env.close()
        env.store.dispose()


@pytest.mark.parametrize(
    ("cash", "paid", "bank_after"),
    [(FEE, True, 0), (FEE - 1, False, FEE - 1), (FEE + 1, True, 1)],
    ids=["fee-equals-balance", "one-cent-short", "one-cent-over"],
)
def test_a_fee_equal_to_the_balance_is_paid(backend_url, cash, paid, bank_after) -> None:
    env = make_env(backend_url, starting_cash_cents=cash)
    try:
        observation, *_, info = env.step(WAIT)
        assert ("Daily fee of $2.00 paid." in observation) is paid
        assert unpaid_days(env) == (0 if paid else 1)
        assert round(info["bank_balance"] * 100) == bank_after
    finally:
        env.close()
        env.store.dispose()


class HalfDoneTool(Tool):
    """Pays a fee, writes a file and changes a slot, then refuses: a tool that
    breaks the rule to check before changing anything."""

    name: ClassVar[str] = "half_done"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    def run(self, world: VendingWorld) -> ToolResult:
        world.transfer(BANK, FEES, 123, kind="daily_fee")  # a staged row (ledger)
        files.write_file(world, "/notes/half.md", "half")  # a new held row
        world.slots[0].capacity += 1  # a changed held row
        raise WorldError("refused midway")


@pytest.mark.parametrize("changes", ["ledger-only", "all"])
def test_a_refused_action_is_rolled_back_after_it_wrote(backend_url, changes) -> None:
    env = make_env(backend_url, starting_cash_cents=50_000)
    simulation = env.simulation
    if changes == "ledger-only":

        class LedgerOnly(HalfDoneTool):
            def run(self, world: VendingWorld) -> ToolResult:
                world.transfer(BANK, FEES, 123, kind="daily_fee")
                raise WorldError("refused midway")

        simulation.tools["half_done"] = LedgerOnly
    else:
        simulation.tools["half_done"] = HalfDoneTool
    try:
        env.step({"name": "get_balance", "arguments": {}})
        hash_before, bank_before = env.state_hash(), simulation.world.balance(BANK)
        files_before = env.store.count_rows(env.episode_id)["files"]
        observation, *_, info = env.step({"name": "half_done", "arguments": {}})
        assert info["invalid_action"] and "refused midway" in observation
        assert env.state_hash() == hash_before
        assert simulation.world.balance(BANK) == bank_before  # in memory too
        # the refused step committed its trajectory row: none of its writes went with it,
        # and the next step starts from the world as it was
        observation, *_, info = env.step({"name": "get_balance", "arguments": {}})
        assert not info["invalid_action"]
        assert round(info["bank_balance"] * 100) == bank_before
        assert env.store.count_rows(env.episode_id)["files"] == files_before
    finally:
        env.close()
        env.store.dispose()
