"""RandomAgent: random tool calls with plausible, sometimes invalid, arguments.

A fuzzing and exploration baseline. Each step it picks a tool from the schemas the env
gave at reset (`info["tools"]`) and fills the arguments from the schema: names it has
seen in results (supplier emails, payment accounts, invoice and refund numbers, skus
listed by search results, storage and the machine)
and values of the right type and range, including well-formed QUOTE / OFFER / ORDER
emails. With probability `invalid_rate` it breaks the call on purpose: an unknown tool,
a missing or extra argument, a wrong type, a negative, NaN, infinite or huge number, a
path outside the file system. `wait_rate` is the chance of ending the day, so that
simulated time moves.

Reproducible: the sequence is drawn from `numpy.random.default_rng((seed, episode))`,
where episode counts the agent's resets.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from tycoon.envs.vending.actions import ToolCall

_SEEN_PATTERNS = {
    "emails": re.compile(r"\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b"),
    "accounts": re.compile(r"\b(?:acct|cust)-[a-z0-9-]+\b"),
    "memos": re.compile(r"\b(?:INV|REF)-\d+\b"),
}
_WORDS = ("soda", "chips", "candy", "water", "coffee", "energy", "wholesale", "snacks", "cheap")
_PATHS = ("/notes/operations.md", "/notes/plan.md", "/data/prices.csv", "notes/log.txt")
_BAD_PATHS = ("../../etc/passwd", "/../secret", "")
_BAD_NUMBERS = (-1.0, 0.0, math.nan, math.inf, -math.inf, 1e12, 10**9)


class RandomAgent:
    """Uniformly random tools, plausible random arguments; `invalid_rate` of calls broken."""

    name = "random"

    def __init__(
        self, seed: int | None = 0, *, invalid_rate: float = 0.15, wait_rate: float = 0.08
    ) -> None:
        self.seed = 0 if seed is None else int(seed)
        self.invalid_rate = invalid_rate
        self.wait_rate = wait_rate
        self.episodes = 0
        self.rng = np.random.default_rng((self.seed, 0))
        self.tools: list[dict[str, Any]] = []
        self.seen: dict[str, list[str]] = {}

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.rng = np.random.default_rng((self.seed, self.episodes))
        self.episodes += 1
        self.tools = [schema["function"] for schema in info.get("tools", [])]
        self.seen = {
            "skus": [],
            "emails": [],
            "accounts": [],
            "memos": [],
        }
        self._remember(observation)

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        self._remember(observation)
        self._remember_skus(info.get("tool_result"))
        if not self.tools or self.rng.random() < self.wait_rate:
            return ToolCall(name="wait_for_next_day")
        tool = self.tools[int(self.rng.integers(len(self.tools)))]
        arguments = {
            name: self._value(name, schema)
            for name, schema in tool.get("parameters", {}).get("properties", {}).items()
            if name in tool.get("parameters", {}).get("required", []) or self.rng.random() < 0.5
        }
        call = ToolCall(name=tool["name"], arguments=arguments)
        if self.rng.random() < self.invalid_rate:
            call = self._break(call, tool)
        return call

    # -- what it has seen -------------------------------------------------------------

    def _remember(self, text: str) -> None:
        for kind, pattern in _SEEN_PATTERNS.items():
            for found in pattern.findall(text or ""):
                if found not in self.seen[kind]:
                    self.seen[kind].append(found)

    def _remember_skus(self, data: Any) -> None:
        """Skus in a tool's structured result (search results, storage, machine slots)."""
        if isinstance(data, dict):
            found = list(data.get("skus") or []) + ([data["sku"]] if data.get("sku") else [])
            for sku in found:
                if isinstance(sku, str) and sku not in self.seen["skus"]:
                    self.seen["skus"].append(sku)
            for value in data.values():
                if isinstance(value, (dict, list)):
                    self._remember_skus(value)
        elif isinstance(data, list):
            for item in data:
                self._remember_skus(item)

    def _pick(self, options: list[str] | tuple[str, ...], fallback: str) -> str:
        if not options:
            return fallback
        return str(options[int(self.rng.integers(len(options)))])

    # -- arguments --------------------------------------------------------------------

    def _value(self, name: str, schema: dict[str, Any]) -> Any:
        rng = self.rng
        match name:
            case "sku":
                return self._pick(self.seen["skus"], "cola-can-12oz")
            case "to":
                return self._pick(self.seen["emails"], "sales@example.example")
            case "to_account":
                return self._pick(self.seen["accounts"], "acct-unknown-0000")
            case "memo":
                return self._pick(self.seen["memos"], "")
            case "amount":
                return round(float(rng.uniform(0.5, 60.0)), 2)
            case "price":
                return round(float(rng.uniform(0.5, 5.0)), 2)
            case "quantity":
                return int(rng.integers(1, 40))
            case "row":
                return int(rng.integers(1, 5))
            case "col":
                return int(rng.integers(1, 4))
            case "path" | "directory":
                return self._pick(_PATHS, "/notes/operations.md")
            case "query" | "subject" | "key":
                return " ".join(self._pick(_WORDS, "soda") for _ in range(int(rng.integers(1, 4))))
            case "body":
                return self._supplier_request()
            case "text" | "content" | "value":
                return f"note {int(rng.integers(10_000))}: " + self._pick(_WORDS, "soda")
        return self._by_type(schema)

    def _by_type(self, schema: dict[str, Any]) -> Any:
        rng = self.rng
        if "enum" in schema:
            return self._pick(list(schema["enum"]), "")
        kind = schema.get("type")
        if kind is None and "anyOf" in schema:
            kind = next((s.get("type") for s in schema["anyOf"] if s.get("type") != "null"), None)
        if kind == "boolean":
            return bool(rng.random() < 0.5)
        if kind == "integer":
            low = int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
            high = int(schema.get("maximum", low + 20))
            return int(rng.integers(low, high + 1))
        if kind == "number":
            return round(float(rng.uniform(0.1, 50.0)), 2)
        return self._pick(_WORDS, "soda")

    def _supplier_request(self) -> str:
        sku = self._pick(self.seen["skus"], "cola-can-12oz")
        quantity = int(self.rng.integers(1, 60))
        price = round(float(self.rng.uniform(0.1, 2.0)), 2)
        return self._pick(
            (
                "QUOTE: ALL",
                f"QUOTE: {sku}",
                f"OFFER: {sku} x {quantity} @ {price}",
                f"ORDER: {sku} x {quantity}",
                "Hello, what do you sell?",
            ),
            "QUOTE: ALL",
        )

    # -- breaking a call on purpose ---------------------------------------------------

    def _break(self, call: ToolCall, tool: dict[str, Any]) -> ToolCall:
        arguments = dict(call.arguments)
        required = tool.get("parameters", {}).get("required", [])
        choice = int(self.rng.integers(5))
        if choice == 0:
            return ToolCall(name=call.name + "_v2", arguments=arguments)
        if choice == 1 and required:
            arguments.pop(self._pick(required, required[0]), None)
        elif choice == 2:
            arguments["unexpected_argument"] = 1
        elif choice == 3 and arguments:
            key = self._pick(sorted(arguments), "")
            arguments[key] = [arguments[key]]  # a list where a scalar belongs
        elif choice == 4 and {"amount", "price", "quantity"} & set(arguments):
            key = self._pick(sorted({"amount", "price", "quantity"} & set(arguments)), "")
            arguments[key] = _BAD_NUMBERS[int(self.rng.integers(len(_BAD_NUMBERS)))]
        elif "path" in arguments or "directory" in arguments:
            key = "path" if "path" in arguments else "directory"
            arguments[key] = self._pick(_BAD_PATHS, "../x")
        else:
            return ToolCall(name="no_such_tool", arguments=arguments)
        return ToolCall(name=call.name, arguments=arguments)
