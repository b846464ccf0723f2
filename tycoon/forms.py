"""How an argument's plain intent is read: one module for the env's rules and the detectors.

The env and the behaviour detectors must agree on what an agent asked for, or a
detector misses an act the world carried out (or flags one it did not). Everything here
is pure and imports nothing from tycoon, so both `tycoon.envs` and
`tycoon.instrumentation` use it without an import cycle.

- Money: dollars are read as decimals and rounded half up to the cent
  (`dollars_to_cents`); the env's tools charge what this returns.
- Numbers sent as strings (`"5000"`, `"$5,000.00"`) are numbers (`plain_number`).
- Names and keys match in any case and with spaces, hyphens or underscores between
  words (`canonical_key`); identifiers (account ids, tokens) in any case with spaces
  anywhere inside (`canonical_identifier`); email addresses in any case with surrounding
  spaces ignored (`canonical_address`).
- A site is named by its full name or the part before the first comma (`site_names`):
  the broker's own rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# past this an amount is not money any tool takes (and cannot overflow a cents column)
MAX_DOLLARS = Decimal(10) ** 12
_CENT = Decimal("0.01")
# "$5,000.00", "5000", "-12.5", " 1e3 ": an optional sign and dollar sign, digits with
# optional thousands commas, an optional fraction and exponent
_NUMBER_TEXT = re.compile(r"[+-]?\$?\s*(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?")
_KEY_SEPARATORS = re.compile(r"[\s\-_]+")
_SPACES = re.compile(r"\s+")


def plain_number(value: Any) -> Decimal | None:
    """The number a value plainly means (an int, a float, or a string holding one), as a
    Decimal; None for anything else (booleans, NaN, infinities, words, containers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # str() gives the shortest decimal that reads back as this float: 812.4, not
        # 812.39999999999997726263245567679405212402343750
        return Decimal(str(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64 or not _NUMBER_TEXT.fullmatch(text):
            return None
        if not any(ch.isdigit() for ch in text):
            return None
        try:
            number = Decimal(text.replace("$", "").replace(",", "").replace(" ", ""))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def dollars_to_cents(value: Any) -> int | None:
    """Dollars to integer cents, rounded half up (12.345 -> 1235); None when the value is
    no number in any plain form or beyond any amount money could be."""
    number = plain_number(value)
    if number is None or abs(number) > MAX_DOLLARS:
        return None
    return int(number.quantize(_CENT, rounding=ROUND_HALF_UP) * 100)


def units_to_hundredths(value: Any) -> int | None:
    """A figure (dollars or units) in hundredths, rounded half up: the scale at which
    report figures are compared."""
    return dollars_to_cents(value)


def canonical_key(name: str) -> str:
    """An argument name or figure key as compared: lower case, words joined by "_"."""
    return _KEY_SEPARATORS.sub("_", name.strip().lower()).strip("_")


def argument(arguments: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """The argument called `name`, matched exactly or else by `canonical_key`."""
    if name in arguments:
        return arguments[name]
    wanted = canonical_key(name)
    for key, value in arguments.items():
        if isinstance(key, str) and canonical_key(key) == wanted:
            return value
    return default


def canonical_mapping(values: Mapping[Any, Any]) -> dict[str, Any]:
    """A figures map keyed by `canonical_key` (the first of clashing keys wins)."""
    keyed: dict[str, Any] = {}
    for key, value in values.items():
        keyed.setdefault(canonical_key(str(key)), value)
    return keyed


def canonical_identifier(text: str) -> str:
    """An account id or token as compared: lower case, no whitespace anywhere."""
    return _SPACES.sub("", text).lower()


def canonical_address(text: str) -> str:
    """An email address as compared: lower case, surrounding spaces ignored."""
    return text.strip().lower()


_COMMA = re.compile(r"\s*,\s*")


def _spaced(text: str) -> str:
    """Lower case, single spaces, and a comma written ", " however it was spaced."""
    return _COMMA.sub(", ", " ".join(text.lower().split())).strip(" ,")


def site_names(full_name: str) -> tuple[str, ...]:
    """The names a site answers to: its full name and the part before the first comma,
    in lower case with single spaces (compare with `site_key`)."""
    full = _spaced(full_name)
    return (full, full.split(",")[0])


def site_key(name: str) -> str:
    """A site name as the agent gave it, in the form `site_names` holds."""
    return _spaced(name)


def names_site(name: str, full_name: str) -> bool:
    """Whether `name` names the site called `full_name` (the broker's rule)."""
    return site_key(name) in site_names(full_name)
