"""The JSON texts of a step row: its reward components and its `info`.

Both are what `json.dumps` gives (the info strictly: PostgreSQL refuses NaN), produced
cheaper: the encoders are built once, and the components, a dict of floats under a few
fixed names, are formatted once per step from a template of their names (a float's JSON
is its `repr`) and spliced into the info's text instead of being encoded twice; an info
of `step_info`'s shape is written from a template of its fields, only its nested values
(the tool's result, the events, the night) going through the encoder. Whatever
the fast path cannot vouch for (a value that is no float, or not finite) goes through
`json` as before, so the texts are the same in every case.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

from tycoon.rewards.components import components_template


def json_encoder(**options: Any) -> Callable[[Any], str]:
    """`json.JSONEncoder(**options).encode` (`json.dumps(value, **options)`), without the
    Python that `encode` runs per call: the C encoder is called directly, built once and
    reused while its table of the containers being encoded is empty (a cycle is refused
    as before). The text is the same in every case: this is the call `encode` makes."""
    encoder = json.JSONEncoder(**options)
    if c_make_encoder is None or encoder.indent is not None or not encoder.ensure_ascii:
        return encoder.encode
    settings = (
        encoder.default,
        encode_basestring_ascii,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    markers = encoder.check_circular

    def fresh() -> Any:
        return c_make_encoder({} if markers else None, *settings)

    # the C encoders no call is running: a call that returns leaves its encoder's table
    # of containers empty, so the next call may use it; one that raises may leave
    # entries behind, and its encoder is dropped. A call made while the kept one runs
    # (from `default`, a container's own methods, another thread) makes its own.
    idle = [fresh()]

    def encode(value: Any) -> str:
        if isinstance(value, str):  # as `encode` does
            return encode_basestring_ascii(value)
        try:
            encoder = idle.pop()
        except IndexError:
            encoder = fresh()
        text = "".join(encoder(value, 0))
        if len(idle) < 2:
            idle.append(encoder)
        return text

    return encode


# `json.dumps(value, allow_nan=False)`, with its encoder built once instead of per call
_STRICT_JSON = json_encoder(allow_nan=False)
# stands for the components in the info while it is encoded; NULs never reach an info
# before the components (the keys before them hold the clock, money figures and status)
_SLOT = "\x00reward_components\x00"
_SLOT_JSON = json.dumps(_SLOT)


def step_json(
    info: dict[str, Any] | None,
    components: dict[str, float],
    components_json: str | None = None,
) -> tuple[str, str | None]:
    """`(json.dumps(components), info_json(info))`, the components encoded once (or
    not at all: `components_json`, their text when the caller has it, e.g.
    `RewardResult.components_json`)."""
    text = components_json or _finite_components_json(components)
    if text is None:  # as json.dumps encodes them (NaN, integers...)
        return json.dumps(components), None if info is None else info_json(info)
    if info is None:
        return text, None
    if info.get("reward_components") is not components:
        return text, info_json(info)
    info_text = _step_info_json(info, text)
    if info_text is not None:
        return text, info_text
    try:
        info_text = _STRICT_JSON({**info, "reward_components": _SLOT})
    except (TypeError, ValueError):
        return text, info_json(info)
    return text, info_text.replace(_SLOT_JSON, text, 1)


# A step's info as `step_info` builds it: its keys in its order (a night adds one), and
# its text up to the tool's result, a template of the fields' texts
_INFO_KEYS = (
    "day",
    "time",
    "step",
    "bank_balance",
    "machine_cash",
    "net_worth",
    "status",
    "score",
    "reward_components",
    "behavior_events",
    "invalid_action",
    "tool",
    "error",
    "tool_result",
)
_NIGHT_INFO_KEYS = (*_INFO_KEYS, "night")
_INFO_TEMPLATE = (
    '{"day": %d, "time": %s, "step": %d, "bank_balance": %s, "machine_cash": %s, '
    '"net_worth": %s, "status": %s, "score": %s, "reward_components": %s, '
    '"behavior_events": %s, "invalid_action": %s, "tool": %s, "error": %s, "tool_result": %s'
)
# the texts of the money figures seen lately (a balance repeats from step to step): an
# equal non-zero float has the same bits, so the same repr (0.0 equals -0.0: zeros are
# not kept)
_FLOAT_TEXTS: dict[float, str] = {}
_MAX_FLOAT_TEXTS = 4_096


def _float_text(value: float) -> str:
    """A finite float's JSON (its repr); ValueError for NaN or an infinity."""
    text = _FLOAT_TEXTS.get(value) if value else None
    if text is None:
        if value - value != 0.0:  # NaN or an infinity: strict JSON refuses them
            raise ValueError(f"Expected a finite number, got {value!r}")
        text = float.__repr__(value)
        if value and len(_FLOAT_TEXTS) < _MAX_FLOAT_TEXTS:
            _FLOAT_TEXTS[value] = text
    return text


def _step_info_json(info: dict[str, Any], components_text: str) -> str | None:
    """`_STRICT_JSON(info)` for an info of `step_info`'s keys and value types, its
    components written as `components_text`: the fixed fields formatted into a template
    (one call each would cost more than the encoder), only the tool's result, the
    events and the night encoded. None for any other info (or a value strict JSON
    refuses): the caller encodes it."""
    keys = tuple(info)
    if keys != _INFO_KEYS and keys != _NIGHT_INFO_KEYS:
        return None
    values = tuple(info.values())
    day, time, step, bank, cash, worth, status, score, _, events, invalid, tool, error, result = (
        values[:14]
    )
    if (
        type(day) is not int
        or type(step) is not int
        or type(time) is not str
        or type(status) is not str
        or type(tool) is not str
        or type(invalid) is not bool
        or type(bank) is not float
        or type(cash) is not float
        or type(worth) is not float
        or type(score) is not float
        or (error is not None and type(error) is not str)
    ):
        return None
    # a figure seen lately is looked up here, not in a call (zeros and odd values are not kept)
    known = _FLOAT_TEXTS.get
    try:
        text = _INFO_TEMPLATE % (
            day,
            encode_basestring_ascii(time),
            step,
            known(bank) or _float_text(bank),
            known(cash) or _float_text(cash),
            known(worth) or _float_text(worth),
            encode_basestring_ascii(status),
            known(score) or _float_text(score),
            components_text,
            "[]" if type(events) is list and not events else _STRICT_JSON(events),
            "true" if invalid else "false",
            encode_basestring_ascii(tool),
            "null" if error is None else encode_basestring_ascii(error),
            "null" if result is None else _STRICT_JSON(result),
        )
        if len(values) == 15:  # the night's report
            return f'{text}, "night": {_STRICT_JSON(values[14])}}}'
        return text + "}"
    except (TypeError, ValueError):
        return None


def info_json(info: dict[str, Any]) -> str:
    """A step's info as strict JSON (PostgreSQL refuses NaN): a value JSON cannot hold
    (NaN, infinity, an object) is stored as null or its text, never failing the step."""
    try:
        return _STRICT_JSON(info)
    except (TypeError, ValueError):
        return _STRICT_JSON(_strict(info))


def _strict(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def _finite_components_json(components: dict[str, float]) -> str | None:
    """`json.dumps(components)` when every value is a finite float, else None."""
    values = tuple(components.values())
    try:
        # a NaN or an infinity makes the sum so (as does an overflow: then json is asked)
        if not math.isfinite(sum(values)):
            return None
        # json writes a float (or a float subclass) as float.__repr__ does
        return components_template(tuple(components)) % tuple(map(float.__repr__, values))
    except TypeError:  # a value that is no float, or a name that is no string
        return None
