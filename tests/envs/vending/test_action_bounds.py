"""`check_action_bounds` reckons a plain call in one pass: on varied and hostile payloads
it gives the verdict of the full walk (the same error, or none)."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np

from tycoon.envs.vending.actions import (
    MAX_ACTION_CHARS,
    MAX_ACTION_DEPTH,
    ActionError,
    _plain_call_fits,
    check_action_bounds,
    walk_action_bounds,
)


def verdict(check, payload: object) -> str | None:
    try:
        check(payload)
    except ActionError as exc:
        return str(exc)
    return None


class Text(str):
    pass


class Number(float):
    pass


LEAVES = [
    "",
    "é\x00\ud800",
    Text("sub"),
    0,
    -1,
    10**29,
    10**30,
    -(10**31),
    2**200,
    10**5000,
    1.5,
    float("nan"),
    Number(2.0),
    True,
    False,
    None,
    b"bytes",
    bytearray(b"x"),
    np.int64(7),
    np.float64(1.0),
    Fraction(1, 3),
    object(),
]


def leaf(rng: random.Random) -> object:
    if rng.random() < 0.3:
        return "s" * rng.choice([0, 1, 10, 1_000, 24_990, 25_000, MAX_ACTION_CHARS])
    return rng.choice(LEAVES)


def key(rng: random.Random) -> object:
    return rng.choice(["sku", "name", "arguments", "é", "k" * rng.randint(0, 30_000), 1, None, 2.5])


def value(rng: random.Random, depth: int) -> object:
    kind = rng.random()
    if depth > 4 or kind < 0.55:
        return leaf(rng)
    if kind < 0.8:
        return {key(rng): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    items = [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice([list, tuple, set, frozenset])(x for x in items if x.__hash__ is not None)


def nested(levels: int) -> dict:
    inner: object = {}
    for _ in range(levels):
        inner = {"a": inner}
    return {"name": "kv_set", "arguments": inner}


def test_the_shortcut_gives_the_walks_verdict_on_random_payloads() -> None:
    rng = random.Random(6)
    passed = refused = shortcut = 0
    for _ in range(30_000):
        shape = rng.random()
        if shape < 0.6:  # a call: a name and a dict of arguments
            payload: object = {
                "name": leaf(rng) if rng.random() < 0.2 else "stock_machine",
                "arguments": {key(rng): value(rng, 2) for _ in range(rng.randint(0, 4))},
            }
        else:
            payload = value(rng, 0)
        expected = verdict(walk_action_bounds, payload)
        assert verdict(check_action_bounds, payload) == expected
        passed += expected is None
        refused += expected is not None
        shortcut += type(payload) is dict and _plain_call_fits(payload)
    # both verdicts are exercised, and the shortcut is taken
    assert passed > 3_000 and refused > 3_000 and shortcut > 3_000, (passed, refused, shortcut)


def test_the_shortcut_gives_the_walks_verdict_at_each_bound() -> None:
    payloads: list[object] = [nested(n) for n in range(MAX_ACTION_DEPTH - 3, MAX_ACTION_DEPTH + 3)]
    for length in range(MAX_ACTION_CHARS - 60, MAX_ACTION_CHARS + 5):  # the size, to the char
        payloads.append(
            {"name": "write_file", "arguments": {"path": "/a", "content": "c" * length}}
        )
        payloads.append({"name": "n" * length})
    for digits in (29, 30, 31, 32):
        for number in (10 ** (digits - 1), 10**digits - 1, -(10 ** (digits - 1))):
            payloads.append({"name": "set_price", "arguments": {"price": number}})
    for payload in payloads:
        assert verdict(check_action_bounds, payload) == verdict(walk_action_bounds, payload)
