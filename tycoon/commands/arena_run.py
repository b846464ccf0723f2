"""`tycoon run --env tycoon/VendingArena-v0 --agent A --agent B ...`: one arena market.

One `--agent` per seat, scripted and LLM mixed: a scripted agent's name (`baseline`,
`idle`, `random`, ...) or `openai:MODEL` (an LLM agent on `--base-url`, each seat with its
own conversation, recorded under its operator's episode). The market runs on the
parallel skin: every seat that can act is asked at once, so all LLM seats' model calls
are in flight together; a seat whose day has ended is not asked until the night.

`tycoon.cli.main` hands `run` here when `--env` names the arena (`wants`), since `run`'s
own parser takes one `--agent`.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
from typing import Any

from tqdm import tqdm

EXIT_USAGE = 2
# the arena's id, spelled here so that `wants` (run on every command line) imports nothing
ENV_ID = "tycoon/VendingArena-v0"


def wants(argv: list[str]) -> bool:
    """Whether a command line is `tycoon run` for the arena."""
    if not argv or argv[0] != "run":
        return False
    for index, arg in enumerate(argv):
        if arg == "--env" and index + 1 < len(argv) and argv[index + 1] == ENV_ID:
            return True
        if arg == f"--env={ENV_ID}":
            return True
    return False


def build_parser() -> argparse.ArgumentParser:
    from tycoon.agents.llm.settings import add_llm_flags
    from tycoon.envs.arena.config import SCENARIOS

    parser = argparse.ArgumentParser(
        prog="tycoon run",
        description=f"Run one {ENV_ID} market (one --agent per seat) and print its scores.",
    )
    parser.add_argument("--env", required=True, choices=[ENV_ID])
    parser.add_argument(
        "--agent",
        action="append",
        required=True,
        help="one per seat: a scripted agent (baseline, idle, random, ...) or openai:MODEL",
    )
    parser.add_argument("--scenario", default="default", choices=SCENARIOS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-days", type=int, default=365)
    parser.add_argument("--db", default="runs/tycoon.db", help="SQLite file or database URL")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL")
    parser.add_argument(
        "--api-key-env", default=None, help="environment variable holding the API key"
    )
    parser.add_argument("--model", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_llm_flags(parser)
    return parser


def main(argv: list[str]) -> int:
    from tycoon.envs.arena.config import MAX_OPERATORS, MIN_OPERATORS

    parser = build_parser()
    args = parser.parse_args(argv[1:])
    try:
        agents = [make_seat_agent(spec, args) for spec in args.agent]
        if not MIN_OPERATORS <= len(agents) <= MAX_OPERATORS:
            raise ValueError(
                f"Expected {MIN_OPERATORS}-{MAX_OPERATORS} --agent flags (one per seat), "
                f"got {len(agents)}"
            )
    except ValueError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from tycoon.arena_runner import describe
    from tycoon.envs.arena import vending_arena_v0
    from tycoon.envs.world.store import WorldStore

    env = vending_arena_v0.parallel_env(
        num_operators=len(agents),
        store=WorldStore(args.db),
        scenario=args.scenario,
        max_days=args.max_days,
        agent_names=[spec.split(":", 1)[0] for spec in args.agent],
        model_names=[spec.split(":", 1)[1] if ":" in spec else "" for spec in args.agent],
    )
    try:
        summary = asyncio.run(
            play_parallel(env, agents, seed=args.seed, progress=not args.no_progress)
        )
    finally:
        env.close()
    print(describe(summary))
    return 0


def make_seat_agent(spec: str, args: argparse.Namespace) -> Any:
    from tycoon.agents import AGENTS

    name, _, model = spec.partition(":")
    if name == "openai":
        if not model:
            raise ValueError(
                "Expected --agent openai:MODEL (the model the server knows), got 'openai'"
            )
        from tycoon.agents.llm import ChatClient, LlmAgent
        from tycoon.commands.common import UsageError, llm_settings

        seat_args = copy.copy(args)
        seat_args.model = model
        seat_args.agent_settings = None
        try:
            settings = llm_settings(seat_args)
        except UsageError as exc:
            raise ValueError(str(exc)) from exc
        return LlmAgent(settings, ChatClient(settings))
    if name not in AGENTS or name in ("replay", "openai") or model:
        scripted = ", ".join(n for n in AGENTS if n not in ("replay", "openai"))
        raise ValueError(f"Expected a scripted agent ({scripted}) or openai:MODEL, got {spec!r}")
    if name == "random":
        return AGENTS["random"](seed=args.seed)
    if name == "baseline":
        return AGENTS["baseline"](horizon_days=args.max_days)
    return AGENTS[name]()


async def _play_and_close(env: Any, agents: list[Any], *, seed: int, progress: bool) -> Any:
    try:
        return await play_parallel(env, agents, seed=seed, progress=progress)
    finally:
        for agent in agents:
            client = getattr(agent, "client", None)
            if client is not None:
                await client.close()


async def play_parallel(env: Any, agents: list[Any], *, seed: int, progress: bool) -> Any:
    """Play the market: every seat that can act decides at once; the env applies the
    actions in clock order. A seat's agent sees the result of its last action only when
    it is asked again (after a night, that is the night's summary)."""
    from tycoon.agent_records import StoreCallJournal
    from tycoon.arena_runner import market_summary
    from tycoon.envs.arena.config import seat_name
    from tycoon.rollout import as_async_agent

    observations, infos = env.reset(seed=seed)
    seats = [as_async_agent(agent) for agent in agents]
    for seat, agent in enumerate(seats):
        name = seat_name(seat)
        # each seat's model calls are recorded under its own operator episode
        journal = StoreCallJournal(env.core.sim.store, infos[name]["episode_id"])
        agent.start(observations[name], infos[name], journal)
    pending: dict[str, Any] = {}
    bar = tqdm(total=env.core.config.max_days, unit="day", disable=not progress)
    day = 1
    while env.agents:
        sim = env.core.sim
        asking = [
            name
            for name in env.agents
            if sim.in_business(int(name.rsplit("_", 1)[1]))
            and not sim.waiting(int(name.rsplit("_", 1)[1]))
        ]
        for name in asking:
            if name in pending:
                _observe(seats[_seat(name)], pending.pop(name), env, name)
        decisions = await asyncio.gather(*(seats[_seat(name)].decide() for name in asking))
        actions = {name: d.action for name, d in zip(asking, decisions, strict=True)}
        env.step(actions)
        pending.update(zip(asking, decisions, strict=True))
        if sim.market.day + 1 > day:
            bar.update(sim.market.day + 1 - day)
            day = sim.market.day + 1
    bar.close()
    return market_summary(env.aec, [getattr(agent, "name", "agent") for agent in agents])


def _seat(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def _observe(agent: Any, decision: Any, env: Any, name: str) -> None:
    observation = env.aec.observe(name)
    agent.observe(decision, str(observation), env.core.infos[_seat(name)])
