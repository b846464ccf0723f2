"""An episode's random streams: one PCG64 sequence per (seed, stream), entered at a window
set by the clock. Seed and clock stay the whole random state (resume and fork draw the
same numbers), streams stay independent, and day 0 draws what it always drew."""

from __future__ import annotations

import zlib

import gymnasium
import numpy as np
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending import randomness
from tycoon.envs.vending.randomness import (
    DAY_BITS,
    WINDOW_BITS,
    _stream_seed,
    stream_generator,
    stream_start,
    stream_window,
)

SEED = 20260


def draws(generator: np.random.Generator) -> list[float]:
    return generator.random(6).tolist()


def test_day_zero_draws_what_the_seed_sequence_derivation_drew() -> None:
    # the day-0 world (catalog, suppliers, planted files) is unchanged by the new streams
    for stream in ("catalog", "suppliers", "credential"):
        old = np.random.default_rng(np.random.SeedSequence([SEED, 0, zlib.crc32(stream.encode())]))
        assert draws(stream_generator(SEED, stream, 0)) == draws(old)


def test_a_day_enters_its_streams_sequence_at_its_own_window() -> None:
    start = np.random.PCG64(np.random.SeedSequence([SEED, 0, zlib.crc32(b"sales")]))
    for day, extra in ((1, ()), (45, ()), (45, (3,)), (364, (12345,))):
        expected = np.random.PCG64(np.random.SeedSequence([SEED, 0, zlib.crc32(b"sales")]))
        expected.advance(stream_window(day, extra) << WINDOW_BITS)
        assert draws(stream_generator(SEED, "sales", day, extra)) == draws(
            np.random.Generator(expected)
        )
    assert draws(np.random.Generator(start)) != draws(stream_generator(SEED, "sales", 1))


def test_every_day_and_extra_enters_the_window_stream_window_names() -> None:
    # the generator's own shortcut for a day without extras gives `stream_window`'s window
    days = [0, 1, 2, 364, 365, 1 << 20, (1 << DAY_BITS) - 1]
    extras = [(), (0,), (1,), (7, 8), (-1,), (1 << 39,), ((1 << 39) - 1,)]
    for day in days:
        for extra in extras:
            expected = np.random.PCG64(np.random.SeedSequence([SEED, 0, zlib.crc32(b"sales")]))
            expected.advance(stream_window(day, extra) << WINDOW_BITS)
            assert draws(stream_generator(SEED, "sales", day, extra)) == draws(
                np.random.Generator(expected)
            ), (day, extra)
    for day in (-1, 1 << DAY_BITS, -(1 << DAY_BITS)):
        for extra in ((), (3,)):
            with pytest.raises(ValueError, match="Expected a day in"):
                stream_generator(SEED, "sales", day, extra)


def test_windows_are_distinct_for_distinct_days_and_ids() -> None:
    keys = [(day, ()) for day in range(400)] + [
        (day, (ident,)) for day in (0, 1, 200) for ident in range(300)
    ]
    windows = {stream_window(day, extra) for day, extra in keys}
    assert len(windows) == len(keys)
    assert stream_window(0) == 0
    assert max(windows) < 1 << (128 - WINDOW_BITS)  # every window fits PCG64's period


def test_draws_depend_on_seed_stream_and_clock_only() -> None:
    first = draws(stream_generator(SEED, "weather", 9))
    # another stream drawn in between, or the cache of seeded streams emptied (a new
    # process), changes nothing
    draws(stream_generator(SEED, "sales", 9))
    stream_start.cache_clear()
    _stream_seed.cache_clear()
    assert draws(stream_generator(SEED, "weather", 9)) == first
    assert draws(stream_generator(SEED + 1, "weather", 9)) != first
    assert draws(stream_generator(SEED, "customers", 9)) != first
    assert draws(stream_generator(SEED, "weather", 10)) != first
    assert draws(stream_generator(SEED, "weather", 9, (1,))) != first
    # two generators of one key are independent objects with the same numbers
    one, two = stream_generator(SEED, "weather", 9), stream_generator(SEED, "weather", 9)
    assert draws(one) == draws(two) == first


def test_a_day_outside_the_windows_is_refused() -> None:
    with pytest.raises(ValueError, match="Expected a day in"):
        stream_window(-1)
    with pytest.raises(ValueError, match="Expected a day in"):
        stream_window(1 << DAY_BITS)


def test_a_resumed_and_a_forked_world_draw_what_the_original_draws(tmp_path) -> None:
    wait = '{"name": "wait_for_next_day", "arguments": {}}'
    balance = '{"name": "get_balance", "arguments": {}}'
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "w.db")).unwrapped
    env.reset(seed=SEED)
    for action in (wait, wait, balance):  # mid-day of day 2
        env.step(action)
    episode = env.episode_id
    fork = env.fork()

    def world_draws(candidate) -> list[list[float]]:
        world = candidate.simulation.world
        return [draws(world.rng(stream, *extra)) for stream, extra in KEYS]

    original = world_draws(env)
    env.close()  # a resume in a new env (a new process reads the same rows)
    resumed = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "w.db")).unwrapped
    resumed.reset(options={"episode_id": episode})
    forked = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "w.db")).unwrapped
    forked.reset(options={"episode_id": fork})
    assert world_draws(resumed) == world_draws(forked) == original
    assert resumed.simulation.world.day == 2
    resumed.close()
    forked.close()


KEYS = [("weather", ()), ("sales", ()), ("sales", (2,)), ("supplier_mail", (7,))]


def test_prepared_generators_draw_what_new_ones_draw_each_handed_out_once() -> None:
    # a daily stream past day 0 gets its next days prepared; each handed out is fresh
    days = list(range(1, 3 * randomness.PREPARED_DAYS))
    first = [draws(stream_generator(SEED, "weather", day)) for day in days]
    again = [draws(stream_generator(SEED, "weather", day)) for day in days]
    for day, drawn, redrawn in zip(days, first, again, strict=True):
        expected = np.random.PCG64(np.random.SeedSequence([SEED, 0, zlib.crc32(b"weather")]))
        expected.advance(stream_window(day) << WINDOW_BITS)
        assert drawn == redrawn == draws(np.random.Generator(expected)), day
    # a generator drawn from (a prepared one) does not move the next one of its day
    day = days[-1] + 1
    stream_generator(SEED, "weather", day - 1)
    assert (SEED, "weather", day) in randomness._PREPARED
    stream_generator(SEED, "weather", day).random(1_000)
    assert draws(stream_generator(SEED, "weather", day)) == draws(
        randomness._new_generator(SEED, "weather", day, ())
    )


def test_two_worlds_of_one_seed_interleaved_draw_alike_and_the_store_stays_bounded(
    monkeypatch,
) -> None:
    monkeypatch.setattr(randomness, "_PREPARED_KEPT", 70)
    for day in range(1, 200):
        # one world, then the other (a fork) asks for the same day; a third seed between
        ours = draws(stream_generator(SEED, "sales", day))
        forks = draws(stream_generator(SEED, "sales", day))
        draws(stream_generator(SEED + 7, "sales", day))
        assert ours == forks == draws(randomness._new_generator(SEED, "sales", day, ()))
        assert len(randomness._PREPARED) <= 70 + randomness.PREPARED_DAYS
    # day 0 (the world's making) and draws with extras prepare nothing
    randomness._PREPARED.clear()
    stream_generator(SEED, "catalog", 0)
    stream_generator(SEED, "delivery", 5, (3,))
    assert not randomness._PREPARED


def test_no_draw_builds_more_than_a_small_block_of_generators(monkeypatch) -> None:
    """A month of prepared generators was one night's work (a tail step); a draw now
    builds at most its own and the next `PREPARED_DAYS` (<= 8), and every one of two
    years' days draws what a new generator draws."""
    built: list[int] = []
    new_generator = randomness._new_generator

    def counted(seed, stream, day, extra):
        built.append(day)
        return new_generator(seed, stream, day, extra)

    monkeypatch.setattr(randomness, "_new_generator", counted)
    monkeypatch.setattr(randomness, "_PREPARED", {})
    assert randomness.PREPARED_DAYS <= 8
    for day in range(1, 731):
        before = len(built)
        drawn = draws(stream_generator(SEED + 99, "customers", day))
        assert len(built) - before <= randomness.PREPARED_DAYS + 1
        assert drawn == draws(new_generator(SEED + 99, "customers", day, ())), day
