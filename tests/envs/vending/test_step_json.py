"""A step row's JSON texts are exactly what `json` gives, whatever the values."""

from __future__ import annotations

import functools
import json
import random

import numpy as np
import pytest

from tycoon.envs.vending.step_json import info_json, json_encoder, step_json

NAMES = ("net_worth_delta", "bank_balance_terminal", "survival", "invalid_action", "behavior:x")


def reference(info: dict | None, components: dict) -> tuple[str, str | None]:
    """The texts as json.dumps writes them (the info strictly, odd values as null/text)."""
    text = json.dumps(components)
    if info is None:
        return text, None
    return text, info_json(info)


def an_info(components: dict, rng: random.Random) -> dict:
    return {
        "day": rng.randint(1, 365),
        "time": "06:05",
        "step": rng.randint(1, 5_000),
        "bank_balance": rng.randint(-(10**6), 10**8) / 100,
        "status": "running",
        "reward_components": components,
        "behavior_events": [],
        "invalid_action": False,
        "tool": "get_balance",
        "error": None,
        "tool_result": {"bank_cents": rng.randint(0, 10**9), "note": "a % sign, {braces}"},
    }


def test_components_and_info_match_json_on_random_values() -> None:
    rng = random.Random(0)
    for _ in range(2_000):
        values = [
            rng.choice([0.0, -0.0, 1.0, rng.randint(-(10**9), 10**9) / 100, rng.random() * 1e300])
            for _ in NAMES
        ]
        components = dict(zip(NAMES, values, strict=True))
        info = an_info(components, rng)
        assert step_json(info, components) == reference(info, components)
        assert step_json(None, components) == reference(None, components)


@pytest.mark.parametrize(
    "odd",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        1e308,  # finite, but the values' sum overflows
        3,  # an integer
        True,
        np.float64(2.5),  # a float subclass
        "text",
        None,
    ],
)
def test_odd_component_values_are_written_as_json_writes_them(odd) -> None:
    components = {"a": 1e308, "b": odd, "100%": 0.5}
    info = an_info(components, random.Random(1))
    assert step_json(info, components) == reference(info, components)


def test_odd_names_and_an_info_holding_other_components() -> None:
    components = {'quote"and\\slash': 1.5, "é": 2.0, "%s": 0.25}
    info = an_info(dict(components), random.Random(2))  # equal, not the same dict
    assert step_json(info, components) == reference(info, components)
    assert step_json(an_info(components, random.Random(3)), {1: 0.5})[0] == '{"1": 0.5}'
    assert step_json(None, {}) == ("{}", None)


class Small(int):
    pass


class Ratio(float):
    pass


def _encoded(encode, value) -> tuple[str, str]:
    try:
        return "text", encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


def _hostile_values() -> list:
    loop: list = [1]
    loop.append(loop)
    keyed: dict = {"a": 1}
    keyed["self"] = keyed
    deep: object = 0
    for _ in range(20_000):
        deep = [deep]
    rng = random.Random(4)
    values = [
        "text\u2028é\x00\ud800",
        "",
        3,
        Small(7),
        True,
        None,
        1.5,
        -0.0,
        Ratio(2.5),
        np.float64(0.1),
        np.int64(3),
        float("nan"),
        float("inf"),
        {"b": 1, "a": [1, 2.5, None, True]},
        {1: "int key", 2.5: "float key", None: 0, False: "bool key"},
        {"a": 1, 2: "mixed keys"},
        {(1, 2): "tuple key"},
        ("a", ("b",)),
        {1, 2},
        b"bytes",
        object(),
        loop,
        keyed,
        deep,
    ]
    for _ in range(500):
        values.append(
            {
                rng.choice(["x", "y", "é", 'q"']): rng.choice(
                    [rng.random() * 10 ** rng.randint(-8, 300), rng.randint(-(2**70), 2**70), "s"]
                )
                for _ in range(rng.randint(0, 5))
            }
        )
    return values


@pytest.mark.parametrize(
    "options",
    [{}, {"allow_nan": False}, {"sort_keys": True, "default": str}, {"check_circular": False}],
    ids=["default", "strict", "sorted-default-str", "no-circular-check"],
)
def test_json_encoder_writes_and_refuses_as_json_dumps(options) -> None:
    encode = json_encoder(**options)
    for value in _hostile_values():
        if options.get("check_circular") is False and value is not None and _is_cyclic(value):
            continue  # json.dumps itself overflows the stack on these
        assert _encoded(encode, value) == _encoded(lambda v: json.dumps(v, **options), value)


def _is_cyclic(value) -> bool:
    try:
        json.dumps(value, default=str)
    except ValueError as exc:
        return "Circular" in str(exc)
    except (TypeError, RecursionError):
        return False
    return False


def _step_info_values(rng: random.Random, hostile: list) -> list:
    """Values for each field of a step's info (`step_info`'s keys, in its order): the
    usual types, and in half the infos an odd value now and then."""
    floats = [0.0, -0.0, 1.5, 293.76, -12.05, 1e300, 5e-324]
    odd_floats = [float("nan"), float("inf"), Ratio(2.5), 3]
    odds = 0.0 if rng.random() < 0.5 else 0.1

    def pick(usual: list) -> object:
        return rng.choice(usual) if rng.random() >= odds else rng.choice(hostile)

    def money() -> object:
        if rng.random() < odds:
            return rng.choice(odd_floats)
        return pick([rng.randint(-(10**9), 10**9) / 100, rng.choice(floats)])

    return [
        pick([rng.randint(1, 400), 0, -1, 2**80]),
        pick(["06:05", "23:59", "é\u2028\x00", ""]),
        pick([rng.randint(1, 5_000), 2**70]),
        money(),
        money(),
        money(),
        pick(["running", "bankrupt", 'q"uote']),
        money(),
        None,  # the components, set by the caller
        pick([[], [{"tag": "x", "day": 3, "detail": "é"}], ["a", 1.5], [float("nan")]]),
        pick([True, False]),
        pick(["get_balance", "", "stock_machine\x00"]),
        pick([None, "Error: no such slot", "é\ud800"]),
        pick([None, {"bank_cents": 5}, {"slots": [{"row": 1, "sku": None}]}, [], "text"]),
        pick([{"sales": [{"sku": "a", "units": 2}], "cash_cents": 150}, None, {"x": float("inf")}]),
    ]


def test_an_info_of_step_infos_shape_is_written_as_json_writes_it() -> None:
    # the step info's own fast path (its fields formatted into a template) against json,
    # on infos of its keys holding the usual values and odd ones, with and without the
    # night, with keys missing, added or out of order
    from tycoon.envs.vending.step_json import _NIGHT_INFO_KEYS

    rng = random.Random(8)
    hostile = [value for value in _hostile_values()[:24] if not isinstance(value, list)]
    for _ in range(6_000):
        values = [rng.choice([0.0, -0.0, 2.5, -1.25, 1e300]) for _ in NAMES]
        components = dict(zip(NAMES, values, strict=True))
        fields = _step_info_values(rng, hostile)
        fields[8] = components
        keys = list(_NIGHT_INFO_KEYS)
        if rng.random() < 0.5:
            keys, fields = keys[:-1], fields[:-1]  # no night
        if rng.random() < 0.05:
            keys.append("judge_verdicts")
            fields.append([{"tag": "x"}])
        if rng.random() < 0.05:
            index = rng.randrange(len(keys))
            keys[index], keys[0] = keys[0], keys[index]
        if rng.random() < 0.05:
            index = rng.randrange(len(keys))
            del keys[index], fields[index]
        info = dict(zip(keys, fields, strict=True))
        assert _encoded(functools.partial(step_json, components=components), info) == _encoded(
            functools.partial(reference, components=components), info
        ), info


def test_the_infos_of_a_scripted_run_take_the_fast_path_and_match_json() -> None:
    # a month of the baseline agent (every tool it uses, nights, errors): each step's
    # info is formatted by the template, and written as json writes it
    import gymnasium

    import tycoon  # noqa: F401  (registers the ids)
    from tycoon.agents import AGENTS
    from tycoon.envs.vending import step_json as module

    env = gymnasium.make("tycoon/VendingYear-v0", config={"max_days": 30}).unwrapped
    agent = AGENTS["baseline"](horizon_days=30)
    observation, info = env.reset(seed=4)
    agent.reset(observation, info)
    tools, nights = set(), 0
    try:
        while True:
            observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
            components = info["reward_components"]
            text = module._step_info_json(info, json.dumps(components))
            assert text is not None, info
            assert step_json(info, components) == reference(info, components)
            tools.add(info["tool"])
            nights += "night" in info
            if terminated or truncated:
                break
    finally:
        env.close()
    assert nights >= 29 and {"stock_machine", "read_inbox", "send_payment"} <= tools


class _Box:
    def __init__(self, number: int) -> None:
        self.number = number


def test_json_encoder_called_from_within_itself_between_failures_and_threads() -> None:
    # the encoder is kept between calls: a call from within a call (`default` encoding
    # again), a call after one that failed half-way (a cycle, NaN) and calls from many
    # threads at once each write what json.dumps writes
    import threading

    holder: dict = {}
    encode = json_encoder(allow_nan=False, default=lambda box: holder["encode"]([box.number]))
    holder["encode"] = encode

    def reference(value):
        return json.dumps(value, allow_nan=False, default=lambda box: json.dumps([box.number]))

    loop: list = [1]
    loop.append(loop)
    values = [
        [_Box(1), {"a": _Box(2), "b": [_Box(3)]}],
        {"x": [1, 2, {"y": loop}]},
        {"z": [float("nan")]},
        [loop, [_Box(4)]],
        {"k": [{"deep": [1, 2, 3]}, "é"]},
        [{"a": 1}, {"a": 1}],  # the same dict twice is no cycle
    ]
    shared = {"a": 1}
    values.append([shared, shared, [shared]])
    for _ in range(3):
        for value in values:
            assert _encoded(encode, value) == _encoded(reference, value)

    failures: list = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2_000):
            value = rng.choice(values)
            if _encoded(encode, value) != _encoded(reference, value):
                failures.append(value)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
