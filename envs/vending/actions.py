"""Turning what an agent sent into a validated tool call, or a precise error.

An action is one tool call: a JSON string `{"name": ..., "arguments": {...}}`, a dict of
the same shape, or a `ToolCall`. OpenAI's shape (`{"function": {"name", "arguments"}}`,
arguments as a JSON string) is accepted too. Nothing here touches the world.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tycoon.envs.vending.tools import TOOLS, Tool

MAX_ACTION_CHARS = 50_000


class ToolCall(BaseModel):
    """One tool call: the tool's name and its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "arguments": self.arguments}, sort_keys=True)


class ActionError(ValueError):
    """The action is not a valid tool call; the message says why, for the agent."""

    def __init__(self, message: str, tool: str = "") -> None:
        super().__init__(message)
        self.tool = tool


def parse_action(action: Any) -> ToolCall:
    if isinstance(action, ToolCall):
        return action
    if isinstance(action, str | bytes):
        return _from_json_text(action)
    if isinstance(action, dict):
        return _from_mapping(action)
    raise ActionError(f"Expected a tool call as a JSON string or dict, got {type(action).__name__}")


def _from_json_text(text: str | bytes) -> ToolCall:
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as exc:
            raise ActionError(f"Expected UTF-8 text, got undecodable bytes ({exc.reason})") from exc
    if len(text) > MAX_ACTION_CHARS:
        raise ActionError(
            f"Expected an action of at most {MAX_ACTION_CHARS} characters, got {len(text)}"
        )
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ActionError("Expected a flat JSON tool call, got JSON nested too deeply") from exc
    except (json.JSONDecodeError, ValueError) as exc:
        raise ActionError(
            'Expected a JSON tool call like {"name": "get_balance", "arguments": {}}, '
            f"got text that is not valid JSON ({exc})"
        ) from exc
    if not isinstance(payload, dict):
        raise ActionError(f"Expected a JSON object, got a JSON {type(payload).__name__}")
    return _from_mapping(payload)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _from_mapping(payload: dict[str, Any]) -> ToolCall:
    if "function" in payload and isinstance(payload["function"], dict):
        payload = payload["function"]
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise ActionError(f'Expected a "name" naming a tool, got {name!r}')
    arguments = payload.get("arguments", {})
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}", parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ActionError(
                f"Expected the arguments of {name} as a JSON object, got JSON nested too deeply",
                tool=name,
            ) from exc
        except (json.JSONDecodeError, ValueError) as exc:
            raise ActionError(
                f"Expected the arguments of {name} as a JSON object, got invalid JSON ({exc})",
                tool=name,
            ) from exc
    if not isinstance(arguments, dict):
        raise ActionError(
            f"Expected the arguments of {name} as an object, got {type(arguments).__name__}",
            tool=name,
        )
    extra = set(payload) - {"name", "arguments", "id", "type"}
    if extra:
        raise ActionError(
            f"Expected only 'name' and 'arguments' in a tool call, got also {sorted(extra)}",
            tool=name,
        )
    return ToolCall(name=name, arguments=arguments)


def bind_tool(call: ToolCall, tools: dict[str, type[Tool]] = TOOLS) -> Tool:
    """Find the tool and validate the arguments; raise ActionError naming the problem."""
    tool_class = tools.get(call.name)
    if tool_class is None:
        raise ActionError(
            f"Unknown tool {call.name[:80]!r}. Available tools: {', '.join(sorted(tools))}",
            tool="",
        )
    try:
        return tool_class.model_validate(call.arguments)
    except ValidationError as exc:
        raise ActionError(describe_validation_error(call.name, exc), tool=call.name) from exc


def describe_validation_error(tool: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        got = error.get("input")
        got_text = repr(got) if not isinstance(got, dict) else "an object"
        if len(got_text) > 60:
            got_text = got_text[:57] + "..."
        if error["type"] == "missing":
            problems.append(f"{where}: required but missing")
        elif error["type"] == "extra_forbidden":
            problems.append(f"{where}: not an argument of {tool}")
        elif error["type"] == "value_error":  # our validators say what they got
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{where}: {error['msg'].lower()}, got {got_text}")
    return f"Invalid arguments for {tool}: " + "; ".join(problems)
