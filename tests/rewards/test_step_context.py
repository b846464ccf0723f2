"""The simulation's plain reward records give every reward function what the validated
models give it: the same fields, and the same reward and components on varied inputs."""

from __future__ import annotations

import dataclasses
import random

import pytest

from tycoon.instrumentation.taxonomy import TAGS
from tycoon.rewards import (
    REWARD_FUNCTIONS,
    MoneySnapshot,
    RewardContext,
    RewardSpec,
    StepContext,
    StepMoney,
)


@pytest.mark.parametrize(
    ("plain", "model"), [(StepMoney, MoneySnapshot), (StepContext, RewardContext)]
)
def test_a_plain_record_has_its_models_fields_in_order_with_its_defaults(plain, model) -> None:
    fields = dataclasses.fields(plain)
    assert [f.name for f in fields] == list(model.model_fields)
    for f in fields:
        declared = model.model_fields[f.name]
        expected = dataclasses.MISSING if declared.is_required() else declared.default
        assert f.default == expected, f.name


def _money(rng: random.Random) -> tuple[int, int, int, int]:
    scale = rng.choice([1, 100, 10**6, 10**12, 10**17])
    return (
        rng.randint(-scale, scale),
        rng.randint(-scale, scale),
        rng.randint(0, 400),
        rng.choice([0, 0, rng.randint(0, scale)]),
    )


def _contexts(seed: int) -> tuple[StepContext, RewardContext]:
    rng = random.Random(seed)
    before, after = _money(rng), _money(rng)
    if rng.random() < 0.3:
        after = before  # nothing changed
    flags = (rng.random() < 0.8, rng.random() < 0.1, rng.random() < 0.1)
    tags = tuple(rng.choice(sorted(TAGS)) for _ in range(rng.choice([0, 0, 1, 3])))
    plain = StepContext(StepMoney(*before), StepMoney(*after), *flags, tags)
    keys = ("net_worth_cents", "bank_cents", "day", "loans_cents")
    model = RewardContext(
        before=MoneySnapshot(**dict(zip(keys, before, strict=True))),
        after=MoneySnapshot(**dict(zip(keys, after, strict=True))),
        valid_action=flags[0],
        terminated=flags[1],
        truncated=flags[2],
        behavior_tags=tags,
    )
    return plain, model


SPECS = [
    RewardSpec(),
    RewardSpec(weights={name: 1.0 for name in REWARD_FUNCTIONS}),
    RewardSpec(
        weights={
            "net_worth_delta": 0.37,
            "bank_balance_terminal": 1e-3,
            "survival": -2.5,
            "invalid_action": -1.0,
            "behavior_penalty": -7.0,
            "behavior:power_seeking": -3.0,
            "behavior:self_preservation.exfiltration": -50.0,
        }
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=["default", "all", "mixed"])
def test_a_step_context_gives_the_models_reward_and_components(spec: RewardSpec) -> None:
    for seed in range(3_000):
        plain, model = _contexts(seed)
        assert plain.after.bank_score_cents == model.after.bank_score_cents
        ours, theirs = spec.compute(plain), spec.compute(model)
        # the very same floats (repr tells -0.0 from 0.0), in the same order
        assert repr(ours.reward) == repr(theirs.reward), seed
        assert list(map(repr, ours.components.items())) == list(
            map(repr, theirs.components.items())
        ), seed


def _by_the_functions(spec: RewardSpec, context) -> tuple[float, dict[str, float]]:
    """The reward and components as each reward function computes them, one call each
    (what `compute` did before it ran the standard functions inline)."""
    names, functions, weights = spec.terms
    values = [function(context) for function in functions]
    reward = float(sum(w * v for w, v in zip(weights, values, strict=True)))
    return reward, dict(zip(names, values, strict=True))


@pytest.mark.parametrize("spec", SPECS, ids=["default", "all", "mixed"])
def test_compute_gives_what_the_functions_give_one_by_one(spec: RewardSpec) -> None:
    for seed in range(3_000):
        for context in _contexts(seed):
            result = spec.compute(context)
            reward, components = _by_the_functions(spec, context)
            assert repr(result.reward) == repr(reward), seed
            assert list(map(repr, result.components.items())) == list(
                map(repr, components.items())
            ), seed


def test_compute_on_signed_zeros_huge_sums_and_every_tag() -> None:
    spec = RewardSpec(
        weights={
            name: w
            for name, w in zip(REWARD_FUNCTIONS, (1.0, -0.0, 1e308, -1e308, 0.5), strict=True)
        }
    )
    money = [
        StepMoney(n, b, d, loans)
        for n in (0, -1, 10**18)
        for b in (0, -5, 10**17)
        for d in (0, 3)
        for loans in (0, 7)
    ]
    tags = [(), tuple(sorted(TAGS)), ("made.up", "power_seeking")]
    for before in money:
        for after in money[::3]:
            for flags in (
                (True, False, False),
                (False, True, False),
                (True, False, True),
                (False, True, True),
            ):
                for tagged in tags:
                    context = StepContext(before, after, *flags, tagged)
                    result = spec.compute(context)
                    reward, components = _by_the_functions(spec, context)
                    assert repr(result.reward) == repr(reward)
                    assert list(map(repr, result.components.items())) == list(
                        map(repr, components.items())
                    )


def test_a_replaced_standard_function_is_called_not_inlined(monkeypatch) -> None:
    from tycoon.rewards import components as module

    monkeypatch.setitem(module.REWARD_FUNCTIONS, "survival", lambda _context: 42.0)
    spec = RewardSpec(weights={"survival": 1.0})
    plain, _ = _contexts(0)
    assert spec.compute(plain).reward == 42.0
    assert spec.compute(plain).components["survival"] == 42.0


def test_the_standard_components_text_is_what_json_writes() -> None:
    # `compute` gives the standard components' JSON text on whole-cent figures (kept by
    # the values: the second pass reads what the first kept) and none on other figures
    import json

    spec = SPECS[0]
    for _ in range(2):
        for seed in range(3_000):
            for context in _contexts(seed):
                result = spec.compute(context)
                assert result.components_json == json.dumps(result.components), seed
    # figures that are no integers: no text, or json's (a -0.0 is not written as 0.0)
    odd = [0.0, -0.0, 1e308, float("nan"), 5.5, True]
    texts = 0
    for value in odd:
        for position in range(4):
            figures = [0, 0, 0, 0]
            figures[position] = value
            for other in ([0, 0, 0, 0], [0.0, 0, 0, 0], [-0.0, 0, 0, 0]):
                for context in (
                    StepContext(StepMoney(*other), StepMoney(*figures), True, False, True),
                    StepContext(StepMoney(*figures), StepMoney(*other), False, True, False),
                ):
                    result = spec.compute(context)
                    if result.components_json is not None:
                        texts += 1
                        assert result.components_json == json.dumps(result.components)
    assert texts  # (an odd figure the components do not read leaves the text)
    # the other specs report other components: no text
    assert SPECS[2].compute(_contexts(1)[0]).components_json is None
