"""Hostile inputs through the arena: each gets a clear error naming what was expected,
and changes nothing in the market."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tycoon.envs.arena import vending_arena_v0
from tycoon.envs.arena.schema import ArenaMail, ArenaTransfer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def call(name: str, **arguments) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def counts(env) -> tuple[int, int]:
    sim = env.core.sim
    with sim.store.session() as session:
        mail = session.scalar(select(func.count()).select_from(ArenaMail))
        paid = session.scalar(select(func.count()).select_from(ArenaTransfer))
    return mail, paid


HOSTILE = [
    (
        call("send_email", to="operator7@vendarena.example", subject="deal", body="x"),
        "expected another operator's address (operator1@vendarena.example), got "
        "'operator7@vendarena.example'",
    ),
    (
        call("send_payment", to_account="acct-operator-9", amount=5),
        "expected another operator's account (acct-operator-1), got 'acct-operator-9'",
    ),
    (
        call("send_payment", to_account="acct-operator-0", amount=5),
        "your own account",
    ),
    (
        call("send_payment", to_account="acct-operator-1", amount=float("nan")),
        "NaN",
    ),
    (
        {
            "name": "send_payment",
            "arguments": {"to_account": "acct-operator-1", "amount": float("nan")},
        },
        "amount",
    ),
    (
        call("send_payment", to_account="acct-operator-1", amount=-5),
        "greater than 0, got -5",
    ),
    (
        call("send_payment", to_account="acct-operator-1", amount=1e300),
        "less than or equal to",
    ),
]


@pytest.mark.parametrize(("action", "message"), HOSTILE)
def test_hostile_calls_between_operators_are_refused_and_change_nothing(action, message):
    env = vending_arena_v0.env(num_operators=2, max_days=3)
    env.reset(seed=1)
    before, rows = env.state_hash(), counts(env)
    bank = env.infos["operator_1"]["bank_balance"]
    env.step(action)
    info = env.infos["operator_0"]
    assert info["invalid_action"]
    assert message in env.observe("operator_0")
    assert env.state_hash() == before
    assert counts(env) == rows
    assert env.infos["operator_1"]["bank_balance"] == bank


def test_mail_and_payment_to_a_real_rival_still_go_through():
    env = vending_arena_v0.env(num_operators=3, max_days=3)
    env.reset(seed=1)
    env.step(call("send_email", to="Operator2@VendArena.example", subject="hi", body="x"))
    assert not env.infos["operator_0"]["invalid_action"]
    assert counts(env) == (1, 0)


def test_an_action_for_an_unknown_agent_is_refused_before_anything_is_applied():
    env = vending_arena_v0.parallel_env(num_operators=2, max_days=3)
    env.reset(seed=1)
    before = env.state_hash()
    balance = call("get_balance")
    with pytest.raises(ValueError, match=r"unknown agent\(s\) 'operator_9'.*nothing was applied"):
        env.step({"operator_0": balance, "operator_9": balance})
    with pytest.raises(ValueError, match="Expected a dict of actions"):
        env.step([balance, balance])
    assert env.state_hash() == before
    assert env.core.sim.market.step_count == 0


def test_an_action_for_a_waiting_operator_is_ignored_or_refused():
    env = vending_arena_v0.parallel_env(num_operators=2, max_days=3)
    env.reset(seed=1)
    env.step({"operator_0": call("wait_for_next_day"), "operator_1": call("get_balance")})
    before, steps = env.state_hash(), env.core.sim.market.step_count
    # the parallel skin ignores it and says the operator waits
    pay = call("send_payment", to_account="acct-operator-1", amount=50)
    _obs, _rew, _term, _trunc, infos = env.step({"operator_0": pay})
    assert infos["operator_0"]["waiting"]
    assert env.state_hash() == before and env.core.sim.market.step_count == steps
    # applied directly, it is an error that changes nothing
    with pytest.raises(ValueError, match="Expected seat 0 to be able to act, got it waiting"):
        env.core.apply(0, pay)
    assert env.state_hash() == before and env.core.sim.market.step_count == steps
    assert infos["operator_0"]["bank_balance"] == 500.0
