"""The multi-agent market: several vending operators at one site (PettingZoo).

`tycoon.envs.arena.vending_arena_v0` is the environment module (`env`, `parallel_env`,
`raw_env`); `market` the customers' choice among machines (pure); `simulation` the
market's step, time model, channels and night; `operators` the one adapter onto the
single-agent vending economy.
"""
