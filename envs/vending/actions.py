"""Turning what an agent sent into a validated tool call, or a precise error.

An action is one tool call: a JSON string `{"name": ..., "arguments": {...}}`, a dict of
the same shape, or a `ToolCall`. OpenAI's shape (`{"function": {"name", "arguments"}}`,
arguments as a JSON string) is accepted too. Nothing here touches the world.
"""

from __future__ import annotations

import json
import reprlib
from json.encoder import encode_basestring_ascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tycoon.envs.vending.step_json import json_encoder
from tycoon.envs.vending.tools import TOOLS, Tool

# Bounds on what one action may be, whatever its form (JSON text, dict, ToolCall): its
# size as JSON, how deeply it nests and how long its integers are. No tool needs more,
# and each bound keeps a hostile action from costing memory, stack or storage.
MAX_ACTION_CHARS = 50_000
MAX_ACTION_DEPTH = 32
MAX_INTEGER_DIGITS = 30
# how much of a name or value an error message quotes, and the most an error may say
QUOTE_CHARS = 60
MAX_ERROR_CHARS = 2_000
CUT_MARKER = "[... cut]"


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
        check_action_bounds({"name": action.name, "arguments": action.arguments})
        return action
    if isinstance(action, str | bytes):
        return _from_json_text(action)
    if isinstance(action, dict):
        check_action_bounds(action)
        return _from_mapping(action)
    raise ActionError(f"Expected a tool call as a JSON string or dict, got {type(action).__name__}")


# a tuple, not a union: isinstance checks a tuple about twice as fast
_CONTAINERS = (dict, list, tuple, set, frozenset)


def check_action_bounds(payload: Any) -> None:
    """Refuse an action larger than `MAX_ACTION_CHARS` as JSON, nested deeper than
    `MAX_ACTION_DEPTH` or holding an integer of more than `MAX_INTEGER_DIGITS` digits.

    A dict of plain values and dicts of them (the usual call) is reckoned in one pass;
    anything else, or a call near a bound, is walked (`walk_action_bounds`).
    """
    if type(payload) is not dict or not _plain_call_fits(payload):
        walk_action_bounds(payload)


def walk_action_bounds(payload: Any) -> None:
    """`check_action_bounds` for any value (tests hold the shortcut to its verdicts).

    Walks the value without recursion and without converting integers to text (both can
    fail on hostile input), stopping as soon as a bound is passed.
    """
    size = 0
    pending: list[tuple[Any, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, _CONTAINERS):
            if depth > MAX_ACTION_DEPTH:
                raise ActionError(
                    f"Expected a tool call nested at most {MAX_ACTION_DEPTH} levels deep, "
                    "got one nested more deeply"
                )
            size += 2
            inner = depth + 1
            if isinstance(value, dict):
                for key, item in value.items():
                    size += _leaf_size(key) + 1
                    pending.append((item, inner))
            else:
                pending.extend((item, inner) for item in value)
        else:
            size += _leaf_size(value) + 1
        if size > MAX_ACTION_CHARS:
            raise ActionError(
                f"Expected an action of at most {MAX_ACTION_CHARS} characters as JSON, "
                f"got more than {MAX_ACTION_CHARS}"
            )


def _plain_call_fits(payload: dict[Any, Any]) -> bool:
    """Whether a dict of plain values (text, numbers, booleans, null) and dicts of them
    (a call: `{"name": ..., "arguments": {...}}`) is within every bound, its size reckoned
    as the walk reckons it. False for anything else too: the walk then decides (and names
    the bound passed, if one is)."""
    size = 2
    for key, value in payload.items():
        if type(key) is not str:
            return False
        size += len(key) + 3
        if type(value) is dict:
            size += 2
            for inner_key, inner in value.items():
                if type(inner_key) is not str:
                    return False
                leaf = _plain_leaf_size(inner)
                if leaf < 0:
                    return False
                size += len(inner_key) + leaf + 4
        else:
            leaf = _plain_leaf_size(value)
            if leaf < 0:
                return False
            size += leaf + 1
    return size <= MAX_ACTION_CHARS


def _plain_leaf_size(value: Any) -> int:
    """`_leaf_size` of a plain value within the bounds; -1 for anything else."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is float or kind is bool or value is None:
        return 8
    if kind is int:
        digits = int(value.bit_length() * 0.30103) + 1
        return digits + 1 if digits <= MAX_INTEGER_DIGITS else -1
    return -1


def _leaf_size(value: Any) -> int:
    kind = type(value)  # the common exact types first, without isinstance
    if kind is str:
        return len(value) + 2
    if kind is float or kind is bool or value is None:
        return 8
    if isinstance(value, str | bytes):
        return len(value) + 2
    if isinstance(value, int) and not isinstance(value, bool):
        digits = int(value.bit_length() * 0.30103) + 1  # without str(): it fails past 4,300
        if digits > MAX_INTEGER_DIGITS:
            raise ActionError(
                f"Expected numbers of at most {MAX_INTEGER_DIGITS} digits, "
                f"got an integer of about {digits} digits"
            )
        return digits + 1
    return 8


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
        payload = _load_json(text)
    except RecursionError as exc:
        raise ActionError("Expected a flat JSON tool call, got JSON nested too deeply") from exc
    except (json.JSONDecodeError, ValueError) as exc:
        raise ActionError(
            'Expected a JSON tool call like {"name": "get_balance", "arguments": {}}, '
            f"got text that is not valid JSON ({exc})"
        ) from exc
    if not isinstance(payload, dict):
        raise ActionError(f"Expected a JSON object, got a JSON {type(payload).__name__}")
    check_action_bounds(payload)
    return _from_mapping(payload)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


# one decoder for every action: `json.loads` builds a new one per call when given a hook
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _load_json(text: str) -> Any:
    """`json.loads(text, parse_constant=_reject_constant)`, with the decoder built once."""
    if text.startswith("\ufeff"):  # as json.loads refuses it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)


def _from_mapping(payload: dict[str, Any]) -> ToolCall:
    if "function" in payload and isinstance(payload["function"], dict):
        payload = payload["function"]
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise ActionError(f'Expected a "name" naming a tool, got {safe_repr(name)}')
    arguments = payload.get("arguments", {})
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        try:
            arguments = _load_json(arguments or "{}")
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
        check_action_bounds(arguments)
    if not isinstance(arguments, dict):
        raise ActionError(
            f"Expected the arguments of {name} as an object, got {type(arguments).__name__}",
            tool=name,
        )
    extra = set(payload) - {"name", "arguments", "id", "type"}
    if extra:
        raise ActionError(
            "Expected only 'name' and 'arguments' in a tool call, got also "
            + quote(repr(sorted(map(str, extra))), 4 * QUOTE_CHARS),
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


def validated_call(tool: Tool) -> ToolCall:
    """The call as the tool's model validated it: only the arguments the agent gave,
    each of the type and within the bounds the model states."""
    # a call without arguments (get_balance...) has nothing to dump
    arguments = tool.model_dump(exclude_unset=True) if tool.model_fields_set else {}
    return ToolCall(name=tool.name, arguments=arguments)


def _lower_first(message: str) -> str:
    # pydantic's messages start with a capital; a pattern or a name inside keeps its case
    return message[:1].lower() + message[1:]


def describe_validation_error(tool: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(quote(str(part)) for part in error["loc"]) or "arguments"
        got = error.get("input")
        got_text = quote(safe_repr(got)) if not isinstance(got, dict) else "an object"
        if error["type"] == "missing":
            problems.append(f"{where}: required but missing")
        elif error["type"] == "extra_forbidden":
            problems.append(f"{where}: not an argument of {tool}")
        elif error["type"] == "value_error":  # our validators say what they got
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{where}: {_lower_first(error['msg'])}, got {got_text}")
    return f"Invalid arguments for {tool}: " + "; ".join(problems)


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` cut to `limit` characters ("..." marks a cut), for quoting in a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxstring = QUOTE_CHARS
_SHORT_REPR.maxother = QUOTE_CHARS


def safe_repr(value: Any) -> str:
    """A short repr that cannot fail (deep nesting, integers too long to print)."""
    try:
        return _SHORT_REPR.repr(value)
    except (ValueError, RecursionError, TypeError):
        return f"a {type(value).__name__}"


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in `CUT_MARKER` when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(CUT_MARKER)] + CUT_MARKER


# `json.dumps(action, sort_keys=True, default=str)`, with its encoder built once, not per call
_ACTION_JSON = json_encoder(sort_keys=True, default=str)


def action_text(action: Any) -> str:
    """The action as stored on the trajectory: JSON when it can be, at most
    `MAX_ACTION_CHARS` characters (marked when cut); never raises."""
    if isinstance(action, bytes):
        action = action[: MAX_ACTION_CHARS * 4].decode("utf-8", "replace")
    if isinstance(action, str):
        return clip(action, MAX_ACTION_CHARS)
    if isinstance(action, ToolCall):
        # the dict's text without the dict: its keys sorted, the arguments come first.
        # They are encoded inside a list, as deep as in the dict (and inline here, at the
        # same depth of calls), so a call nested near the recursion limit fails as it
        # did; a failure or a name that is no text: the dict is encoded, as before.
        name, arguments = action.name, action.arguments
        if type(name) is str:
            try:
                text = _ACTION_JSON([arguments])
            except (TypeError, ValueError, RecursionError):
                pass
            else:
                text = f'{{"arguments": {text[1:-1]}, "name": {encode_basestring_ascii(name)}}}'
                return clip(text, MAX_ACTION_CHARS)
        action = {"name": name, "arguments": arguments}
    try:
        text = _ACTION_JSON(action)
    except (TypeError, ValueError, RecursionError):
        text = safe_repr(action)
    return clip(text, MAX_ACTION_CHARS)
