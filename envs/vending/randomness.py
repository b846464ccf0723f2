"""An episode's random streams: one PCG64 sequence per (episode seed, stream), entered
at a window fixed by the clock.

Each stream ("weather", "sales", "supplier_mail", ...) is one PCG64 sequence, seeded once
from the episode's seed and the stream's name. A draw on day `d` (with optional `extra`
ints, such as an email or order id) starts at window `(extra, d)` of that sequence: its
start is the stream's start advanced by `window * 2**64` steps (PCG64 jumps any distance
in a few multiplications), so windows never overlap (no draw takes 2**64 numbers).

What this keeps: the seed and the clock are the whole random state, so a resumed, forked
or killed-and-resumed episode draws exactly what the original drew, and what one
subsystem draws never shifts what another draws. What it saves: the seed hashing
(`SeedSequence`, ~10 µs) is done once per (seed, stream), not at every draw; a draw's
generator costs ~1.5 µs instead of ~10-20 µs. The streams drawn daily without extras
(weather, sales, customers) have their next days' generators built in one loop and handed
out once each (`PREPARED_DAYS`): a night built them on cold caches at ~6-18 µs each.

Window 0 (day 0, no extra) is the stream's start, which is exactly the generator the
previous derivation (`default_rng(SeedSequence([seed, 0, crc32(stream)]))`) gave: the
day-0 world (catalog, suppliers, a planted credential) is the same as before.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
from numpy.random.bit_generator import ISeedSequence

DAY_BITS = 24  # days 0 .. 16.7 million
EXTRA_ID_LIMIT = 1 << 39  # a single extra id below this has a window of its own
WINDOW_BITS = 64  # draws per window: 2**64
_DAY_LIMIT = 1 << DAY_BITS


def stream_generator(
    seed: int, stream: str, day: int, extra: tuple[int, ...] = ()
) -> np.random.Generator:
    """A new generator for `stream` on `day` (and `extra`), for an episode's `seed`."""
    if not extra:
        generator = _PREPARED.pop((seed, stream, day), None)
        if generator is not None:
            return generator
        if 0 < day < _DAY_LIMIT - 1 and (seed, stream, day + 1) not in _PREPARED:
            _prepare(seed, stream, day + 1)
    return _new_generator(seed, stream, day, extra)


# Fresh generators of the days to come, for the streams drawn daily (a night's weather,
# sales, customers). A night builds its few generators on caches the day's agent steps
# have made cold (~6-14 us each against ~2 us in a loop); so the first day past day 0 a
# stream is drawn without extras, its next `PREPARED_DAYS` generators are built in one
# loop, and each is handed out once (popped): a generator is never given twice, so what
# it draws is what a new one would draw. Day 0 (the world's making) prepares nothing.
# A week and a day at a time, as `day_table` fills its blocks: the loop's first generator
# pays the cold caches, the rest run warm, and no one night builds a month's.
PREPARED_DAYS = 8
_PREPARED_KEPT = 4096  # past this many generators waiting, the store starts afresh
_PREPARED: dict[tuple[int, str, int], np.random.Generator] = {}


def _prepare(seed: int, stream: str, first_day: int) -> None:
    if len(_PREPARED) >= _PREPARED_KEPT:
        _PREPARED.clear()
    for day in range(first_day, min(first_day + PREPARED_DAYS, _DAY_LIMIT)):
        _PREPARED[(seed, stream, day)] = _new_generator(seed, stream, day, ())


def fresh_generator(
    seed: int, stream: str, day: int, extra: tuple[int, ...] = ()
) -> np.random.Generator:
    """The generator `stream_generator` gives, made now: for a caller that works out many
    days in one loop itself (no prepared generators taken or made)."""
    return _new_generator(seed, stream, day, extra)


def _new_generator(seed: int, stream: str, day: int, extra: tuple[int, ...]) -> np.random.Generator:
    bit_generator = np.random.PCG64(_stream_seed(seed, stream))
    # a day's own window is the day (`stream_window`, which checks the day's range)
    window = day if not extra and 0 <= day < _DAY_LIMIT else stream_window(day, extra)
    if window:
        bit_generator.advance(window << WINDOW_BITS)
    return np.random.Generator(bit_generator)


@functools.lru_cache(maxsize=8192)
def stream_start(seed: int, stream: str) -> np.ndarray:
    """The four 64-bit words PCG64 is seeded with for a stream (hashed once)."""
    key = [seed & (2**63 - 1), 0, zlib.crc32(stream.encode())]
    words = np.random.SeedSequence(key).generate_state(4, np.uint64)
    words.flags.writeable = False
    return words


@functools.lru_cache(maxsize=8192)
def _stream_seed(seed: int, stream: str) -> _StreamStart:
    """What PCG64 is seeded from for a stream: one object per (seed, stream), shared by
    its generators (it is read once, at their seeding, and never changes)."""
    return _StreamStart(stream_start(seed, stream))


def stream_window(day: int, extra: tuple[int, ...] = ()) -> int:
    """The window of a draw: 0 for day 0 without extra; distinct for distinct days and
    single extra ids (several extras share a 32-bit hash, a collision being harmless
    but possible)."""
    if not 0 <= day < 1 << DAY_BITS:
        raise ValueError(f"Expected a day in [0, {1 << DAY_BITS}), got {day}")
    if not extra:
        code = 0
    elif len(extra) == 1 and 0 <= extra[0] < EXTRA_ID_LIMIT:
        code = extra[0] + 1
    else:
        code = EXTRA_ID_LIMIT + zlib.crc32(repr(tuple(int(e) for e in extra)).encode())
    return (code << DAY_BITS) | day


class _StreamStart(ISeedSequence):
    """Hands PCG64 the stream's precomputed seed words (what `SeedSequence` would give)."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        if n_words != 4 or dtype is not np.uint64:
            raise ValueError(f"Expected a request for 4 uint64 words, got {n_words} {dtype}")
        return self.words
