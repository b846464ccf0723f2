"""The whole supplier loop through the env: search, quote, haggle, order, pay, receive."""

from __future__ import annotations

import re

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the environments)


def call(env, name: str, **arguments):
    observation, _, _, _, info = env.step({"name": name, "arguments": arguments})
    assert not info["invalid_action"], observation
    return observation, info


def latest_email_from(env, sender: str) -> str:
    _, info = call(env, "read_inbox")
    bodies = [e["body"] for e in info["tool_result"]["emails"] if e["sender"] == sender]
    assert bodies, f"no email from {sender}"
    return bodies[-1]


@pytest.fixture
def env(tmp_path):
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "flow.db"))
    env.reset(seed=11)
    yield env
    env.close()


def test_quote_offer_order_pay_deliver_stock_and_sell(env) -> None:
    _, info = call(env, "search_web", query="wholesale soda drinks")
    supplier = info["tool_result"]["results"][0]
    sku = supplier["skus"][0]

    call(env, "send_email", to=supplier["email"], subject="Prices", body=f"QUOTE: {sku}")
    call(env, "wait_for_next_day")
    quote = latest_email_from(env, supplier["email"])
    assert sku in quote
    quoted = float(re.search(rf"{re.escape(sku)}.*?\$(\d+\.\d\d)", quote, re.S).group(1))

    offer = round(quoted * 0.9, 2)
    call(
        env,
        "send_email",
        to=supplier["email"],
        subject="Offer",
        body=f"OFFER: {sku} x 40 @ {offer}",
    )
    call(env, "wait_for_next_day")
    assert supplier["email"] and latest_email_from(env, supplier["email"])

    call(env, "send_email", to=supplier["email"], subject="Order", body=f"ORDER: {sku} x 40")
    call(env, "wait_for_next_day")
    invoice = latest_email_from(env, supplier["email"])
    number = re.search(r"INV-\d+", invoice).group(0)
    account = re.search(r"acct-[\w-]+", invoice).group(0)
    total = float(re.search(r"[Tt]otal[^$]*\$([\d,]+\.\d\d)", invoice).group(1).replace(",", ""))

    bank_before = env.unwrapped.simulation.world.balance("bank")
    observation, _ = call(env, "send_payment", to_account=account, amount=total, memo=number)
    assert "paid in full" in observation
    assert env.unwrapped.simulation.world.balance("bank") == bank_before - round(total * 100)

    for _ in range(30):
        _, info = call(env, "get_storage_inventory")
        if info["tool_result"]["items"]:
            break
        call(env, "wait_for_next_day")
    items = {item["sku"]: item["quantity"] for item in info["tool_result"]["items"]}
    assert items.get(sku, 0) > 0, "the paid order never arrived from an honest supplier"

    observation, info = call(env, "stock_machine", sku=sku, quantity=items[sku])
    assert info["tool_result"]["moved"] > 0
    sold = 0
    for _ in range(5):
        _, info = call(env, "wait_for_next_day")
        sold += info["night"]["units_sold"]
    assert sold > 0


def test_payment_to_unknown_account_changes_nothing(env) -> None:
    before = env.unwrapped.state_hash()
    observation, _, _, _, info = env.step(
        {"name": "send_payment", "arguments": {"to_account": "acct-nobody", "amount": 5}}
    )
    assert info["invalid_action"]
    assert "Unknown account" in observation
    assert env.unwrapped.state_hash() == before


def test_email_to_unknown_address_bounces(env) -> None:
    call(env, "send_email", to="someone@nowhere.example", subject="hi", body="QUOTE: x")
    call(env, "wait_for_next_day")
    _, info = call(env, "read_inbox")
    assert any("Undeliverable" in e["subject"] for e in info["tool_result"]["emails"])


def test_only_an_offer_rewrites_the_suppliers_row_and_what_is_stored_is_the_state(
    env, tmp_path
) -> None:
    """A quote or an order leaves the supplier's negotiation state as it was, so the
    night writes no UPDATE of its row (it used to write the same state back); an
    accepted offer changes the state, and the stored row holds it, as a fresh load does."""
    from sqlalchemy import event

    store = env.unwrapped.store
    updates: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE SUPPLIERS"):
            updates.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    _, info = call(env, "search_web", query="wholesale soda drinks")
    supplier = info["tool_result"]["results"][0]
    sku = supplier["skus"][0]
    world = env.unwrapped.simulation.world

    def night_with(body: str) -> int:
        updates.clear()
        call(env, "send_email", to=supplier["email"], subject="Request", body=body)
        call(env, "wait_for_next_day")
        return len(updates)

    assert night_with(f"QUOTE: {sku}") == 1  # the first answer stores the (empty) state
    assert night_with(f"QUOTE: {sku}") == 0
    assert night_with(f"OFFER: {sku} x 40 @ 1000") == 1  # accepted at the list price
    held = next(s for s in world.suppliers.values() if s.email == supplier["email"])
    assert held.negotiation["agreed_price_cents"][sku] > 0
    assert night_with(f"ORDER: {sku} x 40") == 0
    assert "Invoice" in latest_email_from(env, supplier["email"])
    event.remove(store.engine, "before_cursor_execute", record)

    fresh = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "flow.db"))
    try:
        fresh.reset(options={"episode_id": env.unwrapped.episode_id})
        loaded = fresh.unwrapped.simulation.world.suppliers[held.id]
        assert loaded.negotiation == held.negotiation
    finally:
        fresh.close()
