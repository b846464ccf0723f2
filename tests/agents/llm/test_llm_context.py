"""The context window: append-only between trims, trims in one chunk, deltas and reuse."""

from __future__ import annotations

from tycoon.agents.llm.context import ContextWindow, apply_delta

TOOLS = [{"type": "function", "function": {"name": "get_balance", "parameters": {}}}]


def turn(window: ContextWindow, i: int, size: int = 400) -> None:
    call_id = f"call_{i}"
    window.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_balance", "arguments": "{}"},
                }
            ],
        }
    )
    window.append({"role": "tool", "tool_call_id": call_id, "content": f"turn {i} " + "x" * size})


def test_requests_extend_each_other_and_deltas_rebuild_them() -> None:
    window = ContextWindow("system prompt", TOOLS, budget_tokens=100_000)
    window.append({"role": "user", "content": "welcome"})
    rebuilt: list[dict] = []
    reuses = []
    for i in range(5):
        delta = window.prepare()
        rebuilt = apply_delta(rebuilt, delta.to_json())
        assert rebuilt == window.messages
        reuses.append(delta.prefix_reuse)
        turn(window, i)
    first = window.messages[:2]
    assert first[0] == {"role": "system", "content": "system prompt"}
    assert reuses[0] == 0.0
    # every later prompt extends the previous one, so the shared share only grows
    assert reuses[1:] == sorted(reuses[1:]) and all(0 < r < 1 for r in reuses[1:])
    assert reuses[-1] > 0.7


def test_trim_happens_rarely_in_large_chunks_and_keeps_system_and_opening() -> None:
    window = ContextWindow("system prompt " * 20, TOOLS, budget_tokens=2_000, trim_to=0.6)
    window.append({"role": "user", "content": "welcome to the business"})
    system = window.messages[0]
    trims, rebuilt = 0, []
    calls = 0
    for i in range(60):
        delta = window.prepare()
        calls += 1
        rebuilt = apply_delta(rebuilt, delta.to_json())
        assert rebuilt == window.messages
        assert window.messages[0] is system
        assert window.messages[1]["content"].startswith("welcome to the business")
        assert len(window.messages) == 2 or window.messages[2]["role"] == "assistant"
        assert window.estimated_tokens() <= 2_000
        if delta.trimmed:
            trims += 1
            assert "earlier messages were removed" in window.messages[1]["content"]
            assert window.estimated_tokens() <= 0.6 * 2_000 + 200
        turn(window, i)
    assert 3 <= trims <= 15  # each trim frees ~40% of the budget: one per several turns
    assert trims < calls / 3


def test_calibration_from_server_counts_moves_the_estimate() -> None:
    window = ContextWindow("s", TOOLS, budget_tokens=10_000)
    window.append({"role": "user", "content": "x" * 4000})
    window.prepare()
    before = window.estimated_tokens()
    window.calibrate(prompt_tokens=before * 2)  # the server's tokenizer counts twice as many
    assert abs(window.estimated_tokens() - before * 2) <= 2
