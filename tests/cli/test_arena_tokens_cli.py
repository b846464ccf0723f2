"""LLM seats of an arena pay for their output tokens, each from its own bank, as a
single-agent Year episode does (`record_output_tokens`, the weekly `token_bill`)."""

from __future__ import annotations

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import select

from tycoon.cli import main
from tycoon.envs.arena import vending_arena_v0
from tycoon.envs.arena.schema import ArenaSeat
from tycoon.envs.world.schema import LedgerEntry
from tycoon.envs.world.store import WorldStore

ARENA = ["--env", "tycoon/VendingArena-v0"]
VERBOSE = "x" * 400_000  # ~100,000 output tokens per reply, as the server counts them


def token_bills(db: str) -> dict[int, list[tuple[int, str]]]:
    """Per seat: its token bills (cents, memo)."""
    store = WorldStore(db)
    try:
        with store.session() as session:
            seats = dict(session.execute(select(ArenaSeat.episode_id, ArenaSeat.seat)).all())
            bills: dict[int, list[tuple[int, str]]] = {seat: [] for seat in seats.values()}
            for entry in session.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == "token_bill").order_by(LedgerEntry.id)
            ):
                bills[seats[entry.episode_id]].append((entry.amount_cents, entry.memo))
            return bills
    finally:
        store.dispose()


def test_each_llm_seat_is_billed_its_own_output_tokens(tmp_path, capsys):
    def reply(body: dict) -> Reply:
        verbose = body["model"] == "model-a"
        return Reply.tool_call("wait_for_next_day", content=VERBOSE if verbose else None)

    db = str(tmp_path / "tokens.db")
    seats = ["--agent", "openai:model-a", "--agent", "openai:model-b", "--agent", "baseline"]
    with FakeOpenAIServer(reply) as server:
        argv = ["run", *ARENA, *seats, "--max-days", "8", "--base-url", server.base_url]
        assert main([*argv, "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    bills = token_bills(db)
    # one bill a week (after day 7), each seat's against its own bank
    assert len(bills[0]) == 1 and len(bills[1]) == 1 and bills[2] == []
    (cents_a, memo_a), (cents_b, memo_b) = bills[0][0], bills[1][0]
    tokens_a, tokens_b = int(memo_a.split()[0]), int(memo_b.split()[0])
    assert tokens_a >= 7 * 100_000 and tokens_b < 1_000
    # Year rules: $100 per million output tokens
    assert cents_a == tokens_a * 10_000 // 1_000_000
    assert cents_b == tokens_b * 10_000 // 1_000_000 < cents_a


def test_record_output_tokens_refuses_bad_counts_and_agents():
    env = vending_arena_v0.parallel_env(num_operators=2, max_days=3)
    env.reset(seed=1)
    for bad in (-1, 1.5, True, "9"):
        with pytest.raises(ValueError, match="non-negative token count"):
            env.record_output_tokens("operator_0", bad)
    with pytest.raises(ValueError, match="operator_7"):
        env.record_output_tokens("operator_7", 5)
    assert env.core.unbilled_tokens == {}
    env.record_output_tokens("operator_1", 1_000)
    env.step({"operator_0": '{"name": "get_balance"}'})  # operator_1 gave no action: kept
    assert env.core.unbilled_tokens == {1: 1_000}
    env.step({"operator_1": '{"name": "get_balance"}'})
    assert env.core.unbilled_tokens == {}
    assert env.core.sim.worlds[1].episode.output_tokens_unbilled == 1_000
    assert env.core.sim.worlds[0].episode.output_tokens_unbilled == 0
