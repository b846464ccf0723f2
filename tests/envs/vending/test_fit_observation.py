"""`fit_observation` keeps an observation to its space's charset and length: the same
text as the pattern replacing every character outside the charset, on any text (an
ASCII text all in the charset is returned without the pattern now)."""

from __future__ import annotations

import random
import re

from tycoon.envs.vending.step_view import CHARSET, TRUNCATION_MARKER, fit_observation

OUTSIDE = re.compile("[^" + re.escape("".join(sorted(CHARSET))) + "]")


def reference(text: str, limit: int) -> str:
    if len(text) > limit:
        text = text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER
    return OUTSIDE.sub("?", text)


def test_fit_observation_matches_the_pattern_on_every_kind_of_text() -> None:
    rng = random.Random(3)
    ascii_chars = [chr(c) for c in range(128)]
    inside = sorted(CHARSET)
    others = ["\u4e2d", "\U0001f600", "\ud800", "\u202e", "\ufeff", "\x80", "\xff", "\u0180"]
    for _ in range(5_000):
        pool = rng.choice([inside, ascii_chars, ascii_chars + others, inside + others])
        text = "".join(rng.choice(pool) for _ in range(rng.choice([0, 1, 5, 80, 700])))
        if rng.random() < 0.3:  # one odd character in a clean text
            text = text + rng.choice(ascii_chars + others) + text
        limit = rng.choice([10_000, 50, 20])
        assert fit_observation(text, limit) == reference(text, limit), repr(text)[:200]


def test_every_single_character_is_kept_or_replaced_as_the_pattern_does() -> None:
    for code in [*range(0x300), 0x2028, 0x20AC, 0xD800, 0xFFFD, 0x1F600]:
        text = f"ab{chr(code)}cd"
        assert fit_observation(text, 100) == reference(text, 100), hex(code)
    assert fit_observation("tab\tline\nok\r\x0b\x0c", 100) == "tab\tline\nok\r\x0b\x0c"
    assert fit_observation("nul\x00esc\x1bdel\x7f", 100) == "nul?esc?del?"
