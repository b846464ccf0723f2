"""A scripted model for the loopback OpenAI server, keyed by the turn of the conversation
(not by a global queue), so episodes played concurrently each get the same script."""

from __future__ import annotations

import json
from typing import Any

from openai_server import Reply

# turn -> (tool, arguments); the second call has bad arguments on purpose: it must reach
# tycoon and be recorded as an invalid action, whatever the framework validates itself
SCRIPT: list[tuple[str, dict[str, Any]]] = [
    ("get_balance", {}),
    ("send_payment", {"to_account": "nobody", "amount": -5}),
    ("search_web", {"query": "wholesale soda supplier"}),
    ("wait_for_next_day", {}),
]


def turn_of(body: dict[str, Any]) -> int:
    return sum(1 for message in body.get("messages", []) if message.get("role") == "assistant")


def scripted_call(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return SCRIPT[min(turn_of(body), len(SCRIPT) - 1)]


def scripted_reply(body: dict[str, Any]) -> Reply:
    """The script as native tool calls."""
    return Reply.tool_call(*scripted_call(body))


def scripted_text_reply(body: dict[str, Any]) -> Reply:
    """The script written as text, the way a text-only policy emits it (Qwen's tags)."""
    name, arguments = scripted_call(body)
    call = json.dumps({"name": name, "arguments": arguments})
    return Reply.text(f"Next I will use {name}.\n<tool_call>\n{call}\n</tool_call>")
