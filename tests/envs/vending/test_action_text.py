"""`action_text` (what a step row stores as the action) is what it was with `json.dumps`
per call, on varied and hostile actions: its encoder is built once now."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from tycoon.envs.vending.actions import (
    _ACTION_JSON,
    MAX_ACTION_CHARS,
    ToolCall,
    action_text,
    clip,
    safe_repr,
)


def reference(action: object) -> str:
    """`action_text` as written with `json.dumps` for every call."""
    if isinstance(action, bytes):
        action = action[: MAX_ACTION_CHARS * 4].decode("utf-8", "replace")
    if isinstance(action, str):
        return clip(action, MAX_ACTION_CHARS)
    if isinstance(action, ToolCall):
        action = {"name": action.name, "arguments": action.arguments}
    try:
        text = json.dumps(action, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = safe_repr(action)
    return clip(text, MAX_ACTION_CHARS)


def circular() -> dict:
    loop: dict = {"name": "kv_set"}
    loop["arguments"] = {"value": loop}
    return loop


def deep(levels: int) -> dict:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return {"name": "kv_set", "arguments": value}


HOSTILE = [
    {"name": "get_balance", "arguments": {}},
    {"arguments": {"b": 1, "a": 2}, "name": "set_price"},
    {"name": "x", "arguments": {"price": float("nan"), "more": float("inf")}},
    {"name": "x", "arguments": {1: "int key", 2.5: "float key", None: 0, False: 1}},
    {"name": "x", "arguments": {"mixed": {1: "a", "b": 2}}},  # unsortable keys
    {"name": "x", "arguments": {"obj": object(), "dec": Decimal("1.10"), "set": {1, 2}}},
    {"name": "x", "arguments": {"bytes": b"\xff\x00", "t": (1, [2, (3,)])}},
    {"name": "x\u2028\ud800\x00é\U0001f600", "arguments": {"k": '"\\\n\t'}},
    {"name": "big", "arguments": {"n": 10**5000}},  # too many digits for str()
    {"name": "long", "arguments": {"text": "y" * (MAX_ACTION_CHARS + 10)}},
    circular(),
    deep(50),
    deep(5_000),  # past the recursion limit
    ToolCall(name="stock_machine", arguments={"sku": "cola", "quantity": 3}),
    ToolCall(name="read_inbox"),
    "plain text",
    "z" * (MAX_ACTION_CHARS + 1),
    b'{"name": "get_balance"}',
    b"\xff\xfe" * 10,
    None,
    42,
    1.5,
    float("nan"),
    [1, "two", None],
    ("a", "b"),
    {1, 2},
    object(),
]


def test_action_text_matches_json_dumps_on_hostile_actions() -> None:
    for action in HOSTILE:
        assert action_text(action) == reference(action), safe_repr(action)


def test_action_text_matches_json_dumps_on_random_tool_calls() -> None:
    rng = random.Random(8)
    leaves = [0, -1, 2**70, 1.0, -0.0, 1e-7, 3.14159, 1e300, True, False, None, "", "é", "\x7f"]

    def value(depth: int) -> object:
        kind = rng.random()
        if depth > 3 or kind < 0.5:
            return rng.choice([*leaves, rng.random(), rng.randint(-(10**9), 10**9)])
        if kind < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice("abcdefg"): value(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(3_000):
        arguments = {rng.choice(["sku", "price", "q", "to", "Z", "é"]): value(0) for _ in range(3)}
        for action in (
            {"name": "set_price", "arguments": arguments},
            ToolCall(name="set_price", arguments=arguments),
        ):
            assert action_text(action) == reference(action)


def _nested(levels: int) -> dict:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return {"a": value}


def test_a_tool_calls_text_matches_json_dumps_whatever_its_arguments() -> None:
    """A `ToolCall`'s text is written without the dict around it; the same text on
    hostile arguments (built unvalidated)."""
    calls = [
        ToolCall.model_construct(name=name, arguments=arguments)
        for action in HOSTILE
        if isinstance(action, dict)
        for name in (action["name"], 7, None, 'é\u2028"')
        for arguments in (action["arguments"], [action["arguments"]], "text", None)
    ]
    for call in calls:
        assert action_text(call) == reference(call), safe_repr(call)


def _action_text_before(action: object) -> str:
    """`action_text` as it was: a ToolCall encoded as a dict (the same depth of calls)."""
    if isinstance(action, ToolCall):
        action = {"name": action.name, "arguments": action.arguments}
    try:
        text = _ACTION_JSON(action)
    except (TypeError, ValueError, RecursionError):
        text = safe_repr(action)
    return clip(text, MAX_ACTION_CHARS)


def test_a_deep_tool_call_fails_where_it_failed() -> None:
    texts = {}
    for depth in range(900, 1_010):
        call = ToolCall.model_construct(name="deep", arguments=_nested(depth))
        texts[depth] = action_text(call)
        assert texts[depth] == _action_text_before(call), depth
    assert texts[900].startswith('{"arguments"') and texts[1_009].startswith("{'arguments'")
