"""`storable` and `check_storable` (every stored text, every text argument) skip the UTF-8
encoding for plain ASCII: the same texts and refusals as encoding each, on varied text."""

from __future__ import annotations

import random

import pytest

from tycoon.envs.vending.tools.base import check_storable, storable


def storable_by_encoding(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def refusal(check, text: str) -> str | None:
    try:
        assert check(text) is text
    except ValueError as exc:
        return str(exc)
    return None


def texts() -> list[str]:
    rng = random.Random(5)
    alphabet = ["a", " ", "\n", "\x00", "\x7f", "é", "\u2028", "€", "\ud800", "\udfff", "😀"]
    found = ["", "plain", "\x00", "a\x00b", "\ud800", "é\ud800", "x" * 10_000 + "\x00"]
    for _ in range(3_000):
        found.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
    return found


def test_storable_gives_the_text_encoding_gives() -> None:
    for text in texts():
        assert storable(text) == storable_by_encoding(text)


@pytest.mark.parametrize("text", ["", "ascii only", "caf\u00e9", "\x7f control"])
def test_a_storable_text_is_returned_as_it_is(text: str) -> None:
    assert storable(text) is text
    assert check_storable(text) is text


def test_check_storable_refuses_what_storable_would_change() -> None:
    for text in texts():
        problem = refusal(check_storable, text)
        assert (problem is None) == (storable_by_encoding(text) == text), repr(text)
        if "\x00" in text:
            assert problem is not None and "NUL" in problem
        elif problem is not None:
            assert "surrogate" in problem
