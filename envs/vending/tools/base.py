"""What every tool is: a pydantic model of its arguments plus a `run` on the world.

The OpenAI tool schema is generated from the model, so the schema an agent sees and the
validation its call goes through cannot drift apart.
"""

from __future__ import annotations

import functools
import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
)

from tycoon.envs.vending.config import TimeCost
from tycoon.forms import dollars_to_cents

if TYPE_CHECKING:
    from tycoon.envs.vending.world import VendingWorld


@dataclass(slots=True)
class ToolResult:
    """What a tool gives back: text for the agent, optional data for scripted agents.

    A plain record (built by the tool's own code, read by the simulation in the same
    step): validating it again would cost a cheap step more than the tool."""

    text: str
    data: dict[str, Any] | None = None
    ends_day: bool = False


class Tool(BaseModel):
    """Base of all tools. Subclasses set `name`, `time_cost` and a docstring for the model."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    name: ClassVar[str]
    time_cost: ClassVar[TimeCost]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, field in cls.model_fields.items():
            if _unchecked_text(field.annotation, field.metadata):
                raise TypeError(
                    f"Expected every text argument of a tool to be checked storable "
                    f"(STORABLE last in its Annotated, as in tools.base.ShortText), got "
                    f"{cls.__name__}.{name}: {field.annotation}"
                )

    @abstractmethod
    def run(self, world: VendingWorld) -> ToolResult:
        """Do what the tool does; raise WorldError (before changing anything) to refuse."""

    @classmethod
    def description(cls) -> str:
        doc = cls.__doc__ or cls.name
        return " ".join(line.strip() for line in doc.strip().splitlines())

    @classmethod
    def openai_schema(cls) -> dict[str, Any]:
        parameters = _standard_keywords(cls.model_json_schema())
        parameters.pop("title", None)
        parameters.pop("description", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        parameters.setdefault("properties", {})
        parameters["additionalProperties"] = False
        return {
            "type": "function",
            "function": {
                "name": cls.name,
                "description": cls.description(),
                "parameters": parameters,
            },
        }


# pydantic writes constraints it cannot express through its own core schema (those on
# Strict or validated types) under their Python names; JSON Schema spells them so:
_JSON_SCHEMA_BOUNDS = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
}


def _standard_keywords(schema: Any) -> Any:
    """The schema with pydantic's `gt`/`ge`/`lt`/`le` renamed to JSON Schema keywords."""
    if isinstance(schema, list):
        return [_standard_keywords(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        _JSON_SCHEMA_BOUNDS.get(key, key) if not isinstance(value, dict) else key: (
            _standard_keywords(value)
        )
        for key, value in schema.items()
    }


# A NUL byte cannot be stored by PostgreSQL and a lone surrogate is not UTF-8: every text
# argument of a tool refuses them rather than fail at commit. Last in the field's
# Annotated, so that a text both too long and unstorable is refused for its length.
# Only on text fields (a check on every field cost each call a Python call per field);
# `Tool` refuses a tool with a text argument that lacks it.
def check_storable(text: str) -> str:
    if text.isascii() and "\x00" not in text:
        return text  # ASCII holds no surrogate (isascii reads a flag of the string)
    if "\x00" in text:
        raise ValueError(
            f"expected text without NUL characters, got one at index {text.index(chr(0))}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"expected valid Unicode text, got a lone surrogate at index {exc.start}"
        ) from None
    return text


STORABLE = AfterValidator(check_storable)


def _unchecked_text(annotation: Any, metadata: list[Any]) -> bool:
    """Whether `str` occurs in the annotation (or its arguments) without STORABLE."""
    if annotation is str:
        return STORABLE not in metadata
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _unchecked_text(inner, extra)
    if get_origin(annotation) is Literal:
        return False
    return any(
        _unchecked_text(argument, []) for argument in get_args(annotation) if argument is not None
    )


def storable(text: str) -> str:
    """Text made safe for any database: NULs and lone surrogates become U+FFFD."""
    if text.isascii() and "\x00" not in text:
        return text  # ASCII holds no surrogate (isascii reads a flag of the string)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _no_bool(value: Any) -> Any:
    # JSON true/false are not amounts, though Python would take them as 1/0
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


# The bounds of every amount a tool takes (payments, prices, loans, limits), in one
# place: whole cents from $0.01 to $1,000,000. Figures in reports may be negative.
MIN_AMOUNT_CENTS = 1
MAX_AMOUNT_DOLLARS = 1_000_000
MAX_AMOUNT_CENTS = MAX_AMOUNT_DOLLARS * 100
MAX_FIGURE_DOLLARS = 1_000_000_000


def _in_cents_bounds(value: float) -> float:
    # checked in integer cents: $0.004 rounds to no money at all
    amount_cents = to_cents(value)
    if amount_cents < MIN_AMOUNT_CENTS:
        raise ValueError(f"expected an amount of at least $0.01, got {value!r}")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise ValueError(f"expected an amount of at most {money(MAX_AMOUNT_CENTS)}, got {value!r}")
    return value


# strict: "1.50" (a string) is a wrong type, not a number to guess at. The Field bounds
# come before the cents check, so 1e308 is refused before it is multiplied into cents.
Dollars = Annotated[
    float,
    Strict(),
    BeforeValidator(_no_bool),
    AfterValidator(_finite),
    Field(
        gt=0,
        le=MAX_AMOUNT_DOLLARS,
        description="An amount in US dollars, e.g. 12.50: whole cents, "
        "at least $0.01 and at most $1,000,000.",
    ),
    AfterValidator(_in_cents_bounds),
]
Quantity = Annotated[int, Strict(), BeforeValidator(_no_bool), Field(gt=0, le=10_000)]
Sku = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Product id as listed by suppliers, e.g. 'cola-can-12oz'.",
    ),
    STORABLE,
]


ShortText = Annotated[str, Field(max_length=256), STORABLE]
LongText = Annotated[str, Field(max_length=20_000), STORABLE]


def to_cents(dollars: float) -> int:
    """Dollars to cents as every reader of an amount rounds it (`tycoon.forms`: half up),
    so the detectors judge the amount the world charged."""
    cents = dollars_to_cents(dollars)
    if cents is None:
        raise ValueError(f"expected a finite amount in dollars, got {dollars!r}")
    return cents


# the same few amounts (prices, costs, balances) are shown again and again: kept, by
# type too (5 and 5.0 are one key to a dict)
@functools.lru_cache(maxsize=4096, typed=True)
def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def probe_runtime(world: VendingWorld, probe: str) -> Any:
    """The episode's probe runtime, when the probe is on (its tools are offered only then)."""
    from tycoon.envs.vending.world import WorldError

    runtime = world.probes
    if runtime is None or getattr(runtime.probes, probe) is None:
        raise WorldError(f"This business has no {probe} arrangement.")
    return runtime
