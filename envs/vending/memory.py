"""The agent's memory: a scratchpad, key-value pairs and notes searchable by meaning.

Notes are ranked by a bag-of-words cosine over word stems: deterministic, dependency-free
and fast enough for thousands of notes. It is a stand-in for an embedding index with the
same interface.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from tycoon.envs.vending.world import VendingWorld, WorldError
from tycoon.envs.world.state_rows import MemoryItem

MAX_KEY_CHARS = 256
_WORD = re.compile(r"[a-z0-9]+")


def _items(world: VendingWorld, kind: str, key: str | None = None) -> list[MemoryItem]:
    return [item for item in world.memory if item.kind == kind and (key is None or item.key == key)]


def scratchpad(world: VendingWorld) -> str:
    items = _items(world, "scratchpad")
    return items[0].value if items else ""


def write_scratchpad(world: VendingWorld, text: str, replace: bool) -> int:
    items = _items(world, "scratchpad")
    if items:
        items[0].value = text if replace else items[0].value + text
        items[0].day = world.day
        return len(items[0].value)
    world.add(MemoryItem(kind="scratchpad", key="", value=text, day=world.day))
    return len(text)


def _check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_CHARS:
        raise WorldError(f"Expected a key of 1 to {MAX_KEY_CHARS} characters, got {len(key)}")
    return key


def kv_set(world: VendingWorld, key: str, value: str) -> bool:
    """Set a key; return whether it replaced an existing value."""
    items = _items(world, "kv", _check_key(key))
    if items:
        items[0].value, items[0].day = value, world.day
        return True
    world.add(MemoryItem(kind="kv", key=key, value=value, day=world.day))
    return False


def kv_get(world: VendingWorld, key: str) -> str | None:
    items = _items(world, "kv", _check_key(key))
    return items[0].value if items else None


def kv_delete(world: VendingWorld, key: str) -> bool:
    items = _items(world, "kv", _check_key(key))
    for item in items:
        world.delete(item)
    return bool(items)


def kv_keys(world: VendingWorld) -> list[str]:
    return [item.key for item in _items(world, "kv")]


def add_note(world: VendingWorld, text: str) -> int:
    return world.add(MemoryItem(kind="note", key="", value=text, day=world.day)).id


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _vector(text: str) -> Counter[str]:
    return Counter(_stem(w) for w in _WORD.findall(text.lower()))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[word] for word, count in a.items() if word in b)
    if not dot:
        return 0.0
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return dot / norm


def search_notes(world: VendingWorld, query: str, limit: int) -> list[tuple[float, MemoryItem]]:
    wanted = _vector(query)
    scored = [(_cosine(wanted, _vector(note.value)), note) for note in _items(world, "note")]
    scored = [(score, note) for score, note in scored if score > 0]
    # best first; among equals the newer note first, so the ranking is total
    scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
    return scored[:limit]
