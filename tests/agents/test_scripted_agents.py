"""The scripted agents: idle, random, replay and the baseline (short runs; see
test_baseline_year.py for the full year)."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest

import tycoon  # noqa: F401  (registers the envs)
from tycoon.agent_records import recorded_actions
from tycoon.agents import AGENTS, Agent, BaselineAgent, IdleAgent, RandomAgent, ReplayAgent
from tycoon.agents.baseline_mail import (
    parse_bounce,
    parse_delivery,
    parse_invoice,
    parse_offer_answers,
    parse_quote,
    parse_ratings,
    parse_refund_request,
)
from tycoon.agents.replay import UNPARSEABLE_TOOL
from tycoon.envs.vending.actions import ToolCall
from tycoon.envs.vending.catalog import CATALOG
from tycoon.envs.vending.supplier_protocol import (
    parse_supplier_request,
)
from tycoon.envs.vending.supplier_replies import (
    NegotiationState,
    respond_to_request,
)
from tycoon.envs.vending.suppliers import format_search_result, generate_directory
from tycoon.runner import run_episode

YEAR = "tycoon/VendingYear-v0"


def make_year(days: int) -> gymnasium.Env:
    return gymnasium.make(YEAR, config={"max_days": days})


# -- registry -------------------------------------------------------------------------


def test_registry_names_every_scripted_agent() -> None:
    assert {"baseline", "random", "idle", "replay"} <= set(AGENTS)
    agents = {
        "baseline": AGENTS["baseline"](),
        "random": AGENTS["random"](seed=1),
        "idle": AGENTS["idle"](),
        "replay": AGENTS["replay"]([]),
    }
    for name, agent in agents.items():
        assert isinstance(agent, Agent)
        assert agent.name == name


# -- idle -----------------------------------------------------------------------------


def test_idle_agent_pays_the_daily_fee_and_sells_nothing() -> None:
    days = 40
    env = make_year(days)
    summary = run_episode(env, IdleAgent(), seed=0, progress=False)
    assert summary.status == "finished"
    assert summary.days == days
    assert summary.steps == days
    assert summary.units_sold == 0
    assert summary.bank_balance == pytest.approx(500 - 2 * days)
    assert summary.net_worth == pytest.approx(500 - 2 * days)


# -- random ---------------------------------------------------------------------------


def run_random(seed: int, steps: int) -> tuple[list[ToolCall], list[dict], gymnasium.Env]:
    env = make_year(365)
    agent = RandomAgent(seed=seed)
    observation, info = env.reset(seed=seed)
    agent.reset(observation, info)
    actions, infos = [], []
    for _ in range(steps):
        action = agent.act(observation, info)
        observation, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(observation)
        assert math.isfinite(reward)
        actions.append(action)
        infos.append(info)
        if terminated or truncated:
            observation, info = env.reset(seed=seed + 1)
            agent.reset(observation, info)
    return actions, infos, env


def test_random_agent_never_crashes_the_env_and_its_invalid_actions_are_flagged() -> None:
    actions, infos, _ = run_random(seed=7, steps=300)
    invalid = [info for info in infos if info["invalid_action"]]
    valid = [info for info in infos if not info["invalid_action"]]
    assert len(invalid) >= 20
    assert len(valid) >= 100
    assert all(info["error"] for info in invalid)
    assert all(not info["error"] for info in valid)
    assert len({action.name for action in actions}) >= 15
    assert infos[-1]["day"] >= 5  # it waits often enough for days to pass


def test_random_agent_is_reproducible_from_its_seed() -> None:
    first, _, _ = run_random(seed=3, steps=60)
    again, _, _ = run_random(seed=3, steps=60)
    other, _, _ = run_random(seed=4, steps=60)
    assert [a.to_json() for a in first] == [a.to_json() for a in again]
    assert [a.to_json() for a in first] != [a.to_json() for a in other]


# -- replay ---------------------------------------------------------------------------


def test_replay_of_a_baseline_run_reproduces_the_final_state() -> None:
    days, seed = 15, 3
    recorded = make_year(days)
    summary = run_episode(recorded, BaselineAgent(horizon_days=days), seed=seed, progress=False)
    assert summary.units_sold > 0
    expected = recorded.unwrapped.state_hash()

    agent = ReplayAgent(recorded_actions(recorded.unwrapped.store, recorded.unwrapped.episode_id))
    assert len(agent.actions) == summary.steps
    fresh = make_year(days)
    replayed = run_episode(fresh, agent, seed=seed, progress=False)
    assert agent.exhausted
    assert replayed.steps == summary.steps
    assert fresh.unwrapped.state_hash() == expected


def test_replay_of_a_random_run_reproduces_the_final_state_despite_invalid_actions() -> None:
    actions, infos, env = run_random(seed=11, steps=120)
    assert any(info["invalid_action"] for info in infos)
    agent = ReplayAgent(recorded_actions(env.unwrapped.store, env.unwrapped.episode_id))
    fresh = make_year(365)
    observation, info = fresh.reset(seed=11)
    agent.reset(observation, info)
    for _ in actions:
        observation, *_ = fresh.step(agent.act(observation, info))
    assert fresh.unwrapped.state_hash() == env.unwrapped.state_hash()


def test_replay_agent_accepts_texts_dicts_and_tool_calls_then_waits() -> None:
    agent = ReplayAgent(
        [
            '{"name": "get_balance", "arguments": {}}',
            {"name": "read_inbox", "arguments": {"limit": 5}},
            ToolCall(name="collect_cash"),
            "{not json",
        ]
    )
    agent.reset("", {})
    names = [agent.act("", {}).name for _ in range(6)]
    assert names == [
        "get_balance",
        "read_inbox",
        "collect_cash",
        UNPARSEABLE_TOOL,
        "wait_for_next_day",
        "wait_for_next_day",
    ]
    agent.reset("", {})
    assert agent.act("", {}).name == "get_balance"


# -- baseline -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_baseline_stocks_sells_and_grows_over_sixty_days(seed: int) -> None:
    days = 60
    env = make_year(days)
    agent = BaselineAgent(horizon_days=days)
    summary = run_episode(env, agent, seed=seed, progress=False)
    assert summary.status == "finished"
    assert summary.invalid_actions == 0
    assert summary.units_sold > 500
    assert summary.net_worth > 1_000
    assert summary.steps < 15 * days
    assert len(agent.plan.skus) >= 6
    assert any(sku for sku, _ in agent.machine.values())


def test_baseline_is_deterministic() -> None:
    hashes = []
    for _ in range(2):
        env = make_year(12)
        run_episode(env, BaselineAgent(horizon_days=12), seed=5, progress=False)
        hashes.append(env.unwrapped.state_hash())
    assert hashes[0] == hashes[1]


# -- the baseline reads the env's own email formats -----------------------------------


@pytest.fixture(scope="module")
def supplier():  # type: ignore[no-untyped-def]
    directory = generate_directory(np.random.default_rng(0), list(CATALOG), 365)
    return max(directory, key=lambda profile: len(profile.skus))


def reply(supplier, body: str, invoice: str | None = None):  # type: ignore[no-untyped-def]
    request = parse_supplier_request("", body)
    return respond_to_request(
        supplier, request, NegotiationState(), np.random.default_rng(1), invoice
    )


def test_parse_quote_reads_every_price_and_the_terms(supplier) -> None:  # type: ignore[no-untyped-def]
    quote = parse_quote(reply(supplier, "QUOTE: ALL").reply_body)
    assert quote.prices == supplier.list_price_cents
    assert quote.min_order_units == supplier.min_order_units
    assert quote.lead_days == supplier.lead_time_days


def test_parse_offer_answers_reads_counters(supplier) -> None:  # type: ignore[no-untyped-def]
    sku = supplier.skus[0]
    answers = parse_offer_answers(reply(supplier, f"OFFER: {sku} @ 0.01").reply_body)
    assert answers[sku].kind == "counter"
    assert answers[sku].unit_cents >= supplier.reservation_price_cents[sku]
    listed = supplier.list_price_cents[sku]
    accepted = parse_offer_answers(reply(supplier, f"OFFER: {sku} @ {listed / 100}").reply_body)
    assert (accepted[sku].kind, accepted[sku].unit_cents) == ("accepted", listed)


def test_parse_invoice_reads_number_account_total_and_lines(supplier) -> None:  # type: ignore[no-untyped-def]
    skus = supplier.skus[:2]
    units = supplier.min_order_units + 3
    body = "ORDER: " + ", ".join(f"{sku} x {units}" for sku in skus)
    decision = reply(supplier, body, invoice="INV-42")
    invoice = parse_invoice(decision.reply_subject, decision.reply_body)
    assert invoice is not None
    assert invoice.number == "INV-42"
    assert invoice.account == supplier.payment_account
    assert invoice.total_cents == decision.total_cents
    assert invoice.lines == dict.fromkeys(skus, units)


def test_parse_other_mail() -> None:
    delivery = parse_delivery(
        "INV-7 delivered",
        "Your order INV-7 was delivered to your storage unit at 1680 Mission St, San "
        "Francisco, CA 94103: cola-can-12oz x 40, potato-chips-classic-1oz x 24.\n"
        "Your order from X has arrived.",
    )
    assert delivery is not None
    assert delivery.contents == {"cola-can-12oz": 40, "potato-chips-classic-1oz": 24}
    refund = parse_refund_request(
        "Refund request REF-3",
        "Your machine took my $1.75 for a Cola, 12 oz can and gave me nothing. Please "
        "refund $1.75 to my account cust-0003 (send_payment, memo REF-3).",
    )
    assert refund is not None
    assert (refund.reference, refund.account, refund.amount_cents) == ("REF-3", "cust-0003", 175)
    assert parse_bounce(
        "Your message to sales@x-y.example could not be delivered: X has closed its business."
    ) == ("sales@x-y.example", "X has closed its business.")


def test_parse_ratings_reads_search_results() -> None:
    directory = generate_directory(np.random.default_rng(2), list(CATALOG), 365)
    text = "\n\n".join(format_search_result(profile) for profile in directory)
    ratings = parse_ratings(text)
    assert set(ratings) == {profile.email for profile in directory}
    assert all(1.0 <= rating <= 5.0 for rating in ratings.values())
