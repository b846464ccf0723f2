"""A text action sent again is not parsed and validated again (`BoundCalls`): the step it
runs is the step it ran without the shortcut, whatever the actions, valid or hostile."""

from __future__ import annotations

import json
import random
from typing import Any

import gymnasium
import pytest
from hostile_actions import fuzz_context, hostile_action, valid_action
from sqlalchemy import select

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending.actions import (
    ToolCall,
    action_text,
    bind_tool,
    parse_action,
    validated_call,
)
from tycoon.envs.vending.calls import BoundCalls
from tycoon.envs.vending.tools import TOOLS
from tycoon.envs.world.schema import Step


def _as_call(action: Any) -> Any:
    """The action as a `ToolCall`, when it can be one; else as it was."""
    try:
        return ToolCall(**action)
    except Exception:
        return action


def _as_text(rng: random.Random, action: Any) -> Any:
    """The action as an agent's text (one of a few spellings), or as it was."""
    if not isinstance(action, dict):
        return action
    try:
        return rng.choice(
            [
                json.dumps(action),
                json.dumps(action, indent=1),
                json.dumps(
                    {"function": {**action, "arguments": json.dumps(action.get("arguments", {}))}}
                ),
            ]
        )
    except (TypeError, ValueError):
        return action


def _step_rows(env) -> list[tuple]:
    columns = [c for c in Step.__table__.c if c.name != "elapsed_us"]
    with env.store.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(*columns).where(Step.episode_id == env.episode_id).order_by(Step.id)
            )
        ]


@pytest.mark.parametrize(
    ("env_id", "durability", "form"),
    [
        ("tycoon/VendingClassic-v0", "step", "text"),
        ("tycoon/VendingYear-v0", "day", "text"),
        ("tycoon/VendingProbes-v0", "step", "text"),
        ("tycoon/VendingYear-v0", "step", "call"),
        ("tycoon/VendingProbes-v0", "day", "call"),
    ],
)
def test_repeated_actions_run_the_steps_they_ran_without_the_shortcut(
    env_id, durability, form, tmp_path
) -> None:
    shape = (lambda _rng, action: _as_call(action)) if form == "call" else _as_text
    envs = [
        gymnasium.make(env_id, db=str(tmp_path / f"{name}.db"), durability=durability).unwrapped
        for name in ("kept", "fresh")
    ]
    for env in envs:
        env.reset(seed=11)
    kept, fresh = envs
    fresh.simulation._bound_calls = None  # every action parsed and validated
    # the actions are drawn against one world; both worlds are the same throughout
    actions: list[Any] = []
    rng = random.Random(5)
    context = fuzz_context(kept)
    pool: list[Any] = []
    for number in range(700):
        if number % 60 == 59:
            action: Any = '{"name": "wait_for_next_day", "arguments": {}}'
        else:
            if not pool or rng.random() < 0.3:
                if rng.random() < 0.6:
                    pool.append(shape(rng, valid_action(rng, kept)))
                else:
                    pool.append(shape(rng, hostile_action(rng, kept, context)))
            action = rng.choice(pool[-25:])
        actions.append(action)
        ours, theirs = kept.step(action), fresh.step(action)
        assert repr(ours) == repr(theirs), (number, repr(action)[:200])
    assert len(kept.simulation._bound_calls) > 0  # actions were kept, and sent again
    assert kept.state_hash() == fresh.state_hash()
    assert _step_rows(kept) == _step_rows(fresh)
    for env in envs:
        env.close()


def _bound(action: Any) -> tuple[Any, ToolCall]:
    tool = bind_tool(parse_action(action), TOOLS)
    return tool, validated_call(tool)


def _kept(bound: BoundCalls, action: Any) -> tuple[Any, ToolCall] | None:
    key = bound.key(action, action_text(action))
    return None if key is None else bound.get(key)


def _keep(bound: BoundCalls, action: Any) -> None:
    key = bound.key(action, action_text(action))
    if key is not None:
        bound.keep(key, *_bound(action))


def test_only_short_texts_and_plain_calls_are_kept_and_the_oldest_goes() -> None:
    bound = BoundCalls()
    plain = '{"name": "set_price", "arguments": {"sku": "cola", "price": 1.5}}'
    call = ToolCall(name="set_price", arguments={"price": 1.5, "sku": "cola"})
    for action in (plain, call):
        _keep(bound, action)
        assert _kept(bound, action) == _bound(action)
    assert len(bound) == 2  # a text and a call are kept apart, even when they match
    assert _kept(bound, json.loads(plain)) is None  # a dict is never keyed

    class Text(str):
        pass

    assert bound.key(Text(plain), plain) is None
    assert bound.key(call, None) is None  # a call without its text
    long_text = plain[:-2] + "}" + " " * BoundCalls.MAX_CHARS + "}"
    assert bound.key(long_text, long_text) is None
    long_call = ToolCall(name="kv_set", arguments={"key": "k", "value": "v" * BoundCalls.MAX_CHARS})
    assert bound.key(long_call, action_text(long_call)) is None
    for arguments in ({"sku": ["a"]}, {"sku": {"a": 1}}, {"sku": Text("a")}, {1: "a"}):
        odd = ToolCall.model_construct(name="set_price", arguments=arguments)
        assert bound.key(odd, action_text(odd)) is None, arguments
    # calls that json would write alike are told apart by their text
    keys = {
        bound.key(c, action_text(c))
        for c in (
            ToolCall(name="set_price", arguments={"price": value})
            for value in (1, 1.0, True, "1", None, 0.0, -0.0, float("nan"), float("inf"))
        )
    }
    assert len(keys) == 9
    tool, validated = _bound(plain)
    bound.keep("listed", tool, ToolCall(name="set_price", arguments={"sku": ["a"]}))
    bound.keep("nested", tool, ToolCall(name="set_price", arguments={"sku": {"a": 1}}))
    assert "listed" not in bound and "nested" not in bound
    for number in range(BoundCalls.SIZE + 5):
        bound.keep(f"text {number}", tool, validated)
    assert len(bound) == BoundCalls.SIZE
    assert plain not in bound and "text 4" not in bound and "text 5" in bound


def test_a_years_distinct_actions_are_each_validated_once(monkeypatch, tmp_path) -> None:
    # a scripted Year sends ~724 different actions; 256 kept validated 881 times
    from tycoon.envs.vending import calls

    validations: list[str] = []

    def counted(call: ToolCall, tools: Any) -> Any:
        validations.append(call.name)
        return bind_tool(call, tools)

    monkeypatch.setattr(calls, "bind_tool", counted)
    env = gymnasium.make(
        "tycoon/VendingClassic-v0", db=f"sqlite:///{tmp_path / 'w.db'}", durability="episode"
    ).unwrapped
    env.reset(seed=3)
    # 800 different texts of one call (JSON allows trailing blanks), sent twice
    texts = ['{"name": "get_balance", "arguments": {}}' + " " * n for n in range(800)]
    for text in texts + texts:
        *_, terminated, truncated, info = env.step(text)
        assert not info["invalid_action"] and not (terminated or truncated)
    assert len(validations) == len(texts)
    env.close()
