"""Turning a model's reply into the one tool call the env receives, defensively.

Models (and the tool-call parsers of inference servers) do not always produce a clean
`tool_calls` entry. In order of preference:

- `ok`: one structured tool call with JSON-object arguments;
- `multiple_calls`: several calls; the first is executed, the others are answered with a
  note that only one call per turn runs;
- `invalid_json`: the arguments (or a call written as text) are not a JSON object; the
  raw call still goes to the env, whose error tells the model what was wrong;
- `recovered_from_text`: no structured call, but one written in `content` as JSON
  (`{"name": ..., "arguments": ...}`, also `"parameters"`) or `<tool_call>...</tool_call>`;
- `no_call`: nothing that looks like a call; the model is told to continue.

The assistant message kept in the conversation is normalised so that the history stays
valid OpenAI format: calls recovered from text become structured calls (with ids
`call_<n>_<k>`), and broken arguments are replaced by "{}" (inference servers parse the
arguments of past calls when applying the chat template and would refuse the request).
The reply exactly as received is recorded separately.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CONTINUE = "Continue on your mission by using your tools."
IGNORED_CALL = "Not executed: only one tool call runs per turn. Call it again if you still need it."
MAX_SCAN = 64  # candidate '{' positions inspected when looking for a call in text

_TOOL_CALL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


class ParseStatus(StrEnum):
    OK = "ok"
    RECOVERED_FROM_TEXT = "recovered_from_text"
    INVALID_JSON = "invalid_json"
    MULTIPLE_CALLS = "multiple_calls"
    NO_CALL = "no_call"


@dataclass
class ParsedReply:
    status: ParseStatus
    # what env.step receives: {"name", "arguments"} (arguments a dict, or the raw text
    # when it was not valid JSON), a raw string, or None for no call
    action: dict[str, Any] | str | None
    message: dict[str, Any]  # the assistant message as kept in the conversation
    call_id: str | None = None  # the executed call's id (None: answered as a user turn)
    ignored_call_ids: list[str] = field(default_factory=list)
    calls_seen: int = 0

    @property
    def tool_call(self) -> dict[str, Any] | None:
        if isinstance(self.action, dict):
            return self.action
        if isinstance(self.action, str):
            return {"raw": self.action}
        return None


def parse_reply(message: dict[str, Any], call_number: int) -> ParsedReply:
    """Parse one assistant message (OpenAI shape) from call `call_number` of an episode."""
    tool_calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if tool_calls:
        return _from_structured(message, tool_calls)
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return _from_text(str(content), call_number)


def followups(parsed: ParsedReply, observation: str | None) -> list[dict[str, Any]]:
    """The messages that answer a reply: the tool result(s), or the nudge to continue."""
    if parsed.status is ParseStatus.NO_CALL or observation is None:
        return [{"role": "user", "content": CONTINUE}]
    if parsed.call_id is None:
        return [{"role": "user", "content": f"Tool result:\n{observation}"}]
    messages = [{"role": "tool", "tool_call_id": parsed.call_id, "content": observation}]
    messages.extend(
        {"role": "tool", "tool_call_id": call_id, "content": IGNORED_CALL}
        for call_id in parsed.ignored_call_ids
    )
    return messages


# -- structured calls ----------------------------------------------------------------------


def _from_structured(message: dict[str, Any], tool_calls: list[dict[str, Any]]) -> ParsedReply:
    kept_calls, first_action, first_valid = [], None, True
    for index, call in enumerate(tool_calls):
        function = call.get("function") or {}
        name = function.get("name") if isinstance(function, dict) else None
        raw = function.get("arguments") if isinstance(function, dict) else None
        arguments, valid = _arguments(raw)
        call_id = str(call.get("id") or f"call_{index}")
        kept_calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": str(name or ""),
                    "arguments": json.dumps(arguments if valid else {}),
                },
            }
        )
        if index == 0:
            first_valid = valid and isinstance(name, str) and bool(name)
            first_action = {"name": name, "arguments": arguments if valid else raw}
    status = (
        ParseStatus.INVALID_JSON
        if not first_valid
        else ParseStatus.MULTIPLE_CALLS
        if len(tool_calls) > 1
        else ParseStatus.OK
    )
    kept = {
        "role": "assistant",
        "content": message.get("content") or None,
        "tool_calls": kept_calls,
    }
    return ParsedReply(
        status=status,
        action=first_action,
        message=kept,
        call_id=kept_calls[0]["id"],
        ignored_call_ids=[c["id"] for c in kept_calls[1:]],
        calls_seen=len(tool_calls),
    )


def _arguments(raw: Any) -> tuple[Any, bool]:
    if isinstance(raw, dict):
        return raw, True
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, True
    if not isinstance(raw, str):
        return raw, False
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, ValueError):
        return raw, False
    return (value, True) if isinstance(value, dict) else (raw, False)


# -- calls written as text -------------------------------------------------------------------


def _from_text(content: str, call_number: int) -> ParsedReply:
    as_is = {"role": "assistant", "content": content or None}
    tagged = _TOOL_CALL_TAG.findall(content) if "<tool_call>" in content else []
    if tagged:
        candidates = [_call_from_json_text(block) for block in tagged]
        remaining = _TOOL_CALL_TAG.sub("", content).strip()
    else:
        found = _find_json_call(content)
        candidates = [found[0]] if found else []
        remaining = (content[: found[1]] + content[found[2] :]).strip() if found else content
    if not candidates:
        return ParsedReply(ParseStatus.NO_CALL, None, as_is)
    first = candidates[0]
    if first is None:  # a <tool_call> block that is not a JSON call
        return ParsedReply(ParseStatus.INVALID_JSON, tagged[0], as_is, calls_seen=len(candidates))
    calls = [c for c in candidates if c is not None]
    kept_calls = [
        {
            "id": f"call_{call_number}_{k}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        for k, (name, arguments) in enumerate(calls)
    ]
    kept = {
        "role": "assistant",
        "content": _FENCE.sub("", remaining).strip() or None,
        "tool_calls": kept_calls,
    }
    return ParsedReply(
        status=ParseStatus.MULTIPLE_CALLS
        if len(candidates) > 1
        else ParseStatus.RECOVERED_FROM_TEXT,
        action={"name": first[0], "arguments": first[1]},
        message=kept,
        call_id=kept_calls[0]["id"],
        ignored_call_ids=[c["id"] for c in kept_calls[1:]],
        calls_seen=len(candidates),
    )


def _call_from_json_text(text: str) -> tuple[str, dict[str, Any]] | None:
    try:
        payload = json.loads(_FENCE.sub("", text.strip()))
    except (json.JSONDecodeError, ValueError):
        return None
    return _as_call(payload)


def _as_call(payload: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("function"), dict):
        payload = payload["function"]
    name = payload.get("name")
    arguments = payload.get("arguments", payload.get("parameters", {}))
    if isinstance(arguments, str):
        arguments, valid = _arguments(arguments)
        if not valid:
            return None
    if not isinstance(name, str) or not name or not isinstance(arguments, dict):
        return None
    return name, arguments


def _find_json_call(content: str) -> tuple[tuple[str, dict[str, Any]], int, int] | None:
    """The first JSON object in the text that is shaped like a call, with its span."""
    decoder = json.JSONDecoder()
    start = content.find("{")
    scanned = 0
    while start != -1 and scanned < MAX_SCAN:
        scanned += 1
        try:
            payload, end = decoder.raw_decode(content, start)
        except (json.JSONDecodeError, ValueError):
            start = content.find("{", start + 1)
            continue
        call = _as_call(payload)
        if call is not None:
            return call, start, end
        start = content.find("{", end)
    return None
