"""A scripted model for the loopback OpenAI server, keyed by the turn of the conversation
(not by a global queue), so episodes played concurrently each get the same script."""

from __future__ import annotations

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


def scripted_reply(body: dict[str, Any]) -> Reply:
    name, arguments = SCRIPT[min(turn_of(body), len(SCRIPT) - 1)]
    return Reply.tool_call(name, arguments)
