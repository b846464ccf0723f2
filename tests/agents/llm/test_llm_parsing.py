"""Table-driven tests of reply parsing: what reaches the env and what the history keeps."""

from __future__ import annotations

import json

import pytest

from tycoon.agents.llm.parsing import (
    CONTINUE,
    IGNORED_CALL,
    ParseStatus,
    followups,
    parse_reply,
)


def structured(*calls: tuple[str, object], content: str | None = None) -> dict:
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {
                "id": f"chatcmpl-tool-{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(calls)
        ],
    }


def text(content: str) -> dict:
    return {"role": "assistant", "content": content}


CASES = [
    (
        "ok",
        structured(("set_price", {"sku": "cola", "price": 1.5})),
        ParseStatus.OK,
        {"name": "set_price", "arguments": {"sku": "cola", "price": 1.5}},
    ),
    (
        "empty arguments",
        structured(("get_balance", "")),
        ParseStatus.OK,
        {"name": "get_balance", "arguments": {}},
    ),
    (
        "broken json",
        structured(("set_price", '{"sku": "cola", "price": ')),
        ParseStatus.INVALID_JSON,
        {"name": "set_price", "arguments": '{"sku": "cola", "price": '},
    ),
    (
        "arguments not an object",
        structured(("set_price", "[1, 2]")),
        ParseStatus.INVALID_JSON,
        {"name": "set_price", "arguments": "[1, 2]"},
    ),
    (
        "several calls",
        structured(("get_balance", {}), ("read_inbox", {})),
        ParseStatus.MULTIPLE_CALLS,
        {"name": "get_balance", "arguments": {}},
    ),
    (
        "json in content",
        text('I will check. {"name": "get_balance", "arguments": {}}'),
        ParseStatus.RECOVERED_FROM_TEXT,
        {"name": "get_balance", "arguments": {}},
    ),
    (
        "llama parameters",
        text('{"name": "kv_get", "parameters": {"key": "plan"}}'),
        ParseStatus.RECOVERED_FROM_TEXT,
        {"name": "kv_get", "arguments": {"key": "plan"}},
    ),
    (
        "fenced json",
        text('```json\n{"name": "read_inbox", "arguments": {}}\n```'),
        ParseStatus.RECOVERED_FROM_TEXT,
        {"name": "read_inbox", "arguments": {}},
    ),
    (
        "hermes tag",
        text(
            '<tool_call>\n{"name": "kv_set", "arguments": {"key": "a", "value": "b"}}\n</tool_call>'
        ),
        ParseStatus.RECOVERED_FROM_TEXT,
        {"name": "kv_set", "arguments": {"key": "a", "value": "b"}},
    ),
    (
        "two hermes tags",
        text(
            '<tool_call>{"name": "get_balance", "arguments": {}}</tool_call>'
            '<tool_call>{"name": "read_inbox", "arguments": {}}</tool_call>'
        ),
        ParseStatus.MULTIPLE_CALLS,
        {"name": "get_balance", "arguments": {}},
    ),
    (
        "unterminated hermes tag",
        text('<tool_call>{"name": "get_balance", "arguments": {}}'),
        ParseStatus.RECOVERED_FROM_TEXT,
        {"name": "get_balance", "arguments": {}},
    ),
    (
        "broken hermes tag",
        text('<tool_call>{"name": "get_balance", "arguments": {</tool_call>'),
        ParseStatus.INVALID_JSON,
        '{"name": "get_balance", "arguments": {',
    ),
    ("prose", text("I think I should wait and see."), ParseStatus.NO_CALL, None),
    (
        "json that is not a call",
        text('My plan: {"day": 1, "goal": "profit"}'),
        ParseStatus.NO_CALL,
        None,
    ),
    ("empty", {"role": "assistant", "content": None}, ParseStatus.NO_CALL, None),
]


@pytest.mark.parametrize(("label", "message", "status", "action"), CASES, ids=[c[0] for c in CASES])
def test_parse_reply(label: str, message: dict, status: ParseStatus, action: object) -> None:
    parsed = parse_reply(message, call_number=7)
    assert parsed.status is status
    assert parsed.action == action


@pytest.mark.parametrize(("label", "message", "status", "action"), CASES, ids=[c[0] for c in CASES])
def test_history_stays_valid_openai_format(
    label: str, message: dict, status: ParseStatus, action: object
) -> None:
    parsed = parse_reply(message, call_number=7)
    kept = parsed.message
    assert kept["role"] == "assistant"
    for call in kept.get("tool_calls", []):
        # every argument string in history parses (servers parse them in chat templates)
        assert isinstance(json.loads(call["function"]["arguments"]), dict)
    replies = followups(parsed, "Bank balance: $500.00")
    if kept.get("tool_calls"):
        ids = [c["id"] for c in kept["tool_calls"]]
        assert [m["tool_call_id"] for m in replies] == ids  # every call gets an answer
        assert replies[0]["content"] == "Bank balance: $500.00"
        assert all(m["content"] == IGNORED_CALL for m in replies[1:])
    elif status is ParseStatus.NO_CALL:
        assert replies == [{"role": "user", "content": CONTINUE}]
    else:
        assert replies[0]["role"] == "user" and "Bank balance" in replies[0]["content"]


def test_recovered_call_gets_a_deterministic_id_and_keeps_the_prose() -> None:
    parsed = parse_reply(text('Checking money. {"name": "get_balance", "arguments": {}}'), 12)
    assert parsed.call_id == "call_12_0"
    assert parsed.message["content"] == "Checking money."


def test_broken_arguments_are_replaced_in_history_only() -> None:
    parsed = parse_reply(structured(("set_price", "{oops")), 1)
    assert parsed.action == {"name": "set_price", "arguments": "{oops"}
    assert parsed.message["tool_calls"][0]["function"]["arguments"] == "{}"
