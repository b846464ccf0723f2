"""The arena fits an operator's observation with the single-agent env's `fit_observation`
(one function: its fast path for clean ASCII, the same text on any input), not a copy."""

from __future__ import annotations

import random
import re

from tycoon.envs.arena import operators
from tycoon.envs.vending import step_view
from tycoon.envs.vending.step_view import CHARSET, TRUNCATION_MARKER

OUTSIDE = re.compile("[^" + re.escape("".join(sorted(CHARSET))) + "]")


def the_arenas_old_fit(text: str, limit: int) -> str:
    """The arena's own copy before it shared the env's (its marker and pattern)."""
    if len(text) > limit:
        marker = "\n[... truncated]"
        text = text[: limit - len(marker)] + marker
    return OUTSIDE.sub("?", text)


def test_the_arena_uses_the_single_agent_envs_fit_observation() -> None:
    assert operators.fit_observation is step_view.fit_observation
    assert operators.OBSERVATION_CHARSET == CHARSET
    assert TRUNCATION_MARKER == "\n[... truncated]"


def test_the_shared_fit_gives_the_arenas_old_text_on_hostile_observations() -> None:
    rng = random.Random(8)
    odd = ["\x00", "\x1b", "\x7f", "\u202e", "\ud800", "\U0001f600", "\u4e2d", "\ufeff", "é"]
    pool = [*sorted(CHARSET), *odd]
    for _ in range(3_000):
        text = "".join(rng.choice(pool) for _ in range(rng.choice([0, 3, 60, 400])))
        limit = rng.choice([20_000, 100, 17])
        assert operators.fit_observation(text, limit) == the_arenas_old_fit(text, limit)
