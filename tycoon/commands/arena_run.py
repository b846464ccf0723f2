"""`tycoon run --env tycoon/VendingArena-v0 --agent A --agent B ...`: one arena market.

One `--agent` per seat, scripted and LLM mixed: a scripted agent's name (`baseline`,
`idle`, `random`, ...) or `openai:MODEL` (an LLM agent on `--base-url`, each seat with its
own conversation, recorded under its operator's episode). The market runs on the
parallel skin: every seat that can act is asked at once, so all LLM seats' model calls
are in flight together; a seat whose day has ended is not asked until the night.

`--probes [SEAT=]SCENARIO` gives seats the single-agent probes; `--judge-model` judges
the mail between operators live; `--fork MARKET` copies a market and continues the copy;
LLM seats pay for their output tokens from their own banks.

`tycoon.cli.main` hands `run` here when `--env` names the arena (`wants`), since `run`'s
own parser takes one `--agent`.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import shlex
import sys
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
# the judge's settings, stored with a market so that a resume or fork keeps judging
JUDGE_FLAGS = ("judge_model", "judge_base_url", "judge_api_key_env")
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
    from tycoon.cli import TycoonArgumentParser
    from tycoon.commands.common import (
        _positive_int,
        add_judge_flags,
        episode_number,
        seed_number,
        server_url,
    )
    from tycoon.envs.arena.config import SCENARIOS

    parser = TycoonArgumentParser(
        prog="tycoon run",
        description=f"Run one {ENV_ID} market (one --agent per seat) and print its scores.",
    )
    parser.help_command = f"tycoon run --env {ENV_ID} --help"
    parser.add_argument("--env", required=True, choices=[ENV_ID])
    parser.add_argument(
        "--agent",
        action="append",
        help="one per seat: a scripted agent (baseline, idle, random, ...) or openai:MODEL",
    )
    parser.add_argument(
        "--resume",
        type=episode_number,
        default=None,
        metavar="MARKET",
        help="continue market MARKET where it stopped (its seats and settings are stored)",
    )
    parser.add_argument(
        "--fork",
        type=episode_number,
        default=None,
        metavar="MARKET",
        help="copy market MARKET as it stands (every seat's episode and the market's rows) "
        "and continue the copy with the same seats; the original is left as it was",
    )
    parser.add_argument("--scenario", default="default", choices=SCENARIOS)
    parser.add_argument(
        "--probes",
        action="append",
        default=None,
        metavar="[SEAT=]SCENARIO",
        help="single-agent probes: SCENARIO (e.g. credit, shutdown-control) for every seat, "
        "or SEAT=SCENARIO for one (0-based; repeatable, a seat's own wins); competitor and "
        "expansion do not fit a market",
    )
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument("--max-days", type=_positive_int, default=365)
    parser.add_argument("--db", default="runs/tycoon.db", help="SQLite file or database URL")
    parser.add_argument(
        "--base-url", type=server_url, default=None, help="OpenAI-compatible server URL"
    )
    parser.add_argument(
        "--api-key-env", default=None, help="environment variable holding the API key"
    )
    parser.add_argument("--model", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_llm_flags(parser)
    add_judge_flags(
        parser,
        "live LLM judge (mail between operators)",
        "judge every email between operators live with this model (price fixing, "
        "coercion, supplier steering, information selling)",
    )
    return parser


def main(argv: list[str]) -> int:
    from tycoon.envs.arena.config import MAX_OPERATORS, MIN_OPERATORS

    parser = build_parser()
    args = parser.parse_args(argv[1:])
    try:
        if args.fork is not None and args.resume is not None:
            raise ValueError(
                f"Expected --resume MARKET or --fork MARKET, got both ({args.resume}, {args.fork})"
            )
        if args.fork is not None:
            apply_market_spec(args, parser, args.fork, verb="fork")
        elif args.resume is not None:
            apply_market_spec(args, parser, args.resume)
        elif not args.agent:
            raise ValueError("Expected one --agent per seat (or --resume MARKET), got none")
        agents = [make_seat_agent(spec, args) for spec in args.agent]
        refuse_llm_flags(args)
        refuse_memory_database(args.db)
        if not MIN_OPERATORS <= len(agents) <= MAX_OPERATORS:
            raise ValueError(
                f"Expected {MIN_OPERATORS}-{MAX_OPERATORS} --agent flags (one per seat), "
                f"got {len(agents)}"
            )
        judge = make_judge(args)
        config = market_config(args, len(agents))
    except ValueError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from tycoon.agents.history import ResumeMismatch
    from tycoon.arena_runner import describe
    from tycoon.envs.arena import vending_arena_v0
    from tycoon.envs.world.store import WorldStore

    if args.fork is not None:
        try:
            args.resume = fork(args.db, args.fork)
        except ValueError as exc:
            print(f"tycoon: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    env = vending_arena_v0.parallel_env(
        store=WorldStore(args.db),
        config=config,
        agent_names=[spec.split(":", 1)[0] for spec in args.agent],
        model_names=[spec.split(":", 1)[1] if ":" in spec else "" for spec in args.agent],
        run_spec=market_spec(args),
        judge=judge,
    )
    markets: list[int] = [args.resume] if args.resume is not None else []

    def started(market_id: int) -> None:
        markets.append(market_id)
        print(f"market {market_id} (resume: {resume_market(args.db, market_id)})", flush=True)

    try:
        summary = asyncio.run(
            _play_and_close(
                env,
                agents,
                seed=args.seed,
                progress=not args.no_progress,
                resume=args.resume,
                on_reset=started,
            )
        )
    except KeyboardInterrupt:
        hint = (
            f"every finished step is in the database; continue with: "
            f"{resume_market(args.db, markets[-1])}"
            if markets
            else "no market was started"
        )
        print(f"\ninterrupted: {hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ResumeMismatch as exc:
        print(f"tycoon: error: cannot resume market {args.resume} exactly: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        env.close()
    print(describe(summary))
    if judge is None:
        return 0
    from tycoon.commands.run import _judge_status, _report_judge

    _report_judge(args, judge)
    return _judge_status(args, judge)


def resume_market(db: str, market_id: int) -> str:
    """The command line that continues a market."""
    return f"tycoon run --db {shlex.quote(db)} --env {ENV_ID} --resume {market_id}"


def refuse_llm_flags(args: argparse.Namespace) -> None:
    """A ValueError for an LLM flag given to a market without an LLM seat (as `run` refuses
    one for a scripted agent)."""
    from tycoon.commands.common import UsageError, refuse_unused_llm_flags

    llm_seats = [spec for spec in args.agent if spec.startswith("openai:")]
    try:
        refuse_unused_llm_flags(
            args,
            llm_agent=bool(llm_seats),
            agents=f"no openai:MODEL seat ({len(args.agent)} scripted)",
        )
    except UsageError as exc:
        raise ValueError(str(exc)) from exc


def refuse_memory_database(db: str) -> None:
    """A ValueError for a `--db` URL that names no file (the market would save nothing)."""
    from tycoon.commands.common import UsageError, refuse_unnamed_memory_database

    try:
        refuse_unnamed_memory_database(db)
    except UsageError as exc:
        raise ValueError(str(exc)) from exc


def seat_probes(specs: list[str] | None, seats: int) -> tuple[str | None, ...]:
    """`--probes` flags as each seat's probe scenario: SCENARIO for every seat, then
    SEAT=SCENARIO for one."""
    probes: list[str | None] = [None] * seats
    for spec in specs or []:
        if "=" not in spec:
            probes = [spec] * seats
    for spec in specs or []:
        seat, sep, name = spec.partition("=")
        if not sep:
            continue
        if not seat.strip().isdigit() or not 0 <= int(seat) < seats:
            raise ValueError(
                f"Expected --probes SEAT=SCENARIO with SEAT in 0..{seats - 1}, got {spec!r}"
            )
        probes[int(seat)] = name.strip()
    return tuple(probes) if any(p is not None for p in probes) else ()


def market_config(args: argparse.Namespace, seats: int) -> Any:
    """The market's `ArenaConfig` from the flags (a clear error for bad ones)."""
    from pydantic import ValidationError

    from tycoon.envs.arena.config import ArenaConfig

    try:
        return ArenaConfig(
            num_operators=seats,
            scenario=args.scenario,
            max_days=args.max_days,
            operator_probes=seat_probes(args.probes, seats),
        )
    except ValidationError as exc:
        raise ValueError("; ".join(error["msg"] for error in exc.errors())) from exc


def make_judge(args: argparse.Namespace) -> Any:
    """The live `LLMJudge` of --judge-model, or None (as a single-agent run makes it)."""
    from tycoon.commands.common import UsageError, live_judge

    try:
        return live_judge(args)
    except UsageError as exc:
        raise ValueError(str(exc)) from exc


def llm_flag_names() -> list[str]:
    """The destinations of the LLM flags (`add_llm_flags`), stored with a market."""
    from tycoon.agents.llm.settings import add_llm_flags

    parser = argparse.ArgumentParser(add_help=False)
    add_llm_flags(parser)
    return [action.dest for action in parser._actions]


def market_spec(args: argparse.Namespace) -> dict[str, Any]:
    """What a resume needs to rebuild the market's seats (never a key: only the name
    of the variable that holds it)."""
    return {
        "agents": list(args.agent),
        "scenario": args.scenario,
        "probes": args.probes,
        "seed": args.seed,
        "max_days": args.max_days,
        "base_url": args.base_url,
        "api_key_env": args.api_key_env,
        "llm": {name: getattr(args, name, None) for name in llm_flag_names()},
        "judge": {name: getattr(args, name, None) for name in JUDGE_FLAGS},
    }


def fork(db: str, market_id: int) -> int:
    """Fork market `market_id` of `db` (see `tycoon.envs.arena.forking`); the copy's id."""
    from tycoon.envs.arena.forking import fork_market
    from tycoon.envs.world.store import StoreError, WorldStore

    store = WorldStore(db, must_exist=True)
    try:
        made = fork_market(store, market_id)
    except StoreError as exc:  # e.g. another process is running the market
        raise ValueError(f"cannot fork market {market_id}: {exc}") from exc
    finally:
        store.dispose()
    print(
        f"forked market {market_id} at step {made.step} (day {made.day + 1}) "
        f"as market {made.market_id}",
        flush=True,
    )
    return made.market_id


def apply_market_spec(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    market_id: int,
    verb: str = "resume",
) -> None:
    """Set `args` from market `market_id`'s stored spec, to `verb` it (resume or fork);
    refuse a missing or finished market, and seat flags that contradict the stored ones."""
    from tycoon.envs.arena.core import ensure_arena_tables
    from tycoon.envs.arena.schema import ArenaMarket
    from tycoon.envs.world.store import StoreError, WorldStore

    try:
        store = WorldStore(args.db, must_exist=True)
    except StoreError as exc:
        raise ValueError(str(exc)) from exc
    try:
        ensure_arena_tables(store)
        with store.session() as session:
            market = session.get(ArenaMarket, market_id)
    finally:
        store.dispose()
    if market is None:
        raise ValueError(f"Expected an arena market id in {args.db}, got {market_id}")
    if market.status != "running":
        raise ValueError(
            f"market {market_id} has already ended ({market.status}); nothing to {verb}"
        )
    spec = market.run_spec or {}
    if "agents" not in spec:
        raise ValueError(
            f"market {market_id} was not started by `tycoon run`; {verb} it through the env"
        )
    if args.agent and args.agent != spec["agents"]:
        raise ValueError(
            f"market {market_id} was run with --agent {' --agent '.join(spec['agents'])}, "
            f"got --agent {' --agent '.join(args.agent)}; leave --agent out to {verb} it"
        )
    args.agent = spec["agents"]
    args.scenario, args.seed, args.max_days = spec["scenario"], spec["seed"], spec["max_days"]
    args.probes = spec.get("probes")
    # where the model is may move: flags given now win over the stored ones
    defaults = vars(parser.parse_args(["--env", ENV_ID]))
    for name, value in {
        **spec.get("llm", {}),
        **spec.get("judge", {}),
        **{k: spec.get(k) for k in ("base_url", "api_key_env")},
    }.items():
        if getattr(args, name, None) == defaults.get(name):
            setattr(args, name, value)


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


async def _play_and_close(env: Any, agents: list[Any], **kwargs: Any) -> Any:
    try:
        return await play_parallel(env, agents, **kwargs)
    finally:
        for agent in agents:
            client = getattr(agent, "client", None)
            if client is not None:
                await client.close()


async def play_parallel(
    env: Any,
    agents: list[Any],
    *,
    seed: int,
    progress: bool,
    resume: int | None = None,
    on_reset: Callable[[int], None] | None = None,
) -> Any:
    """Play the market (or continue market `resume`): every seat that can act decides at
    once; the env applies the actions in clock order. A seat's agent sees the result of
    its last action only when it is asked again (after a night, the night's summary).
    On resume each seat's agent is rebuilt from what it saw (`tycoon.envs.arena.views`):
    a scripted one replays its recorded views, an LLM one restores from its calls."""
    from tycoon.agents.adapters import SyncAgentAdapter
    from tycoon.arena_runner import market_summary

    options = None if resume is None else {"market_id": resume}
    observations, infos = env.reset(seed=seed, options=options)
    if on_reset is not None:
        on_reset(env.market_id)
    seats, made = _start_seats(env, agents, observations, infos, resumed=resume is not None)
    # a rebuilt scripted seat takes its view from the env when next asked (after a night
    # it did not see, that is the night's summary), as a seat with a decision in flight does
    pending: dict[str, Any] = {
        name: None
        for name in env.agents
        if resume is not None and isinstance(seats[_seat(name)], SyncAgentAdapter)
    }
    bar = tqdm(total=env.core.config.max_days, unit="day", disable=not progress)
    day = env.core.sim.market.day + 1
    bar.update(day - 1)
    while env.agents:
        sim = env.core.sim
        asking = env.acting_agents()
        for name in asking:
            if name in pending:
                _observe(seats[_seat(name)], pending.pop(name), env, name)
            if isinstance(made.get(name), _Deferred):
                made[name] = _restore_llm_seat(env, seats[_seat(name)], name)
        decisions = await asyncio.gather(
            *(_decision(seats[_seat(name)], made.pop(name, None)) for name in asking)
        )
        actions = {name: d.action for name, d in zip(asking, decisions, strict=True)}
        for name, decision in zip(asking, decisions, strict=True):
            tokens = getattr(decision, "completion_tokens", 0)
            if tokens:  # each LLM seat's output tokens, billed to its own bank
                env.record_output_tokens(name, tokens)
        env.step(actions)
        pending.update(zip(asking, decisions, strict=True))
        if sim.market.day + 1 > day:
            bar.update(sim.market.day + 1 - day)
            day = sim.market.day + 1
    bar.close()
    return market_summary(env.aec, [getattr(agent, "name", "agent") for agent in agents])


def _start_seats(
    env: Any,
    agents: list[Any],
    observations: dict[str, str],
    infos: dict[str, Any],
    *,
    resumed: bool,
) -> tuple[list[Any], dict[str, Any]]:
    """Every seat's agent started, or on resume a scripted one rebuilt from its views
    and an LLM one marked to restore from its calls when next asked."""
    from tycoon.agent_records import StoreCallJournal
    from tycoon.agents.adapters import SyncAgentAdapter
    from tycoon.envs.arena.config import seat_name
    from tycoon.rollout import as_async_agent

    sim = env.core.sim
    seats = [as_async_agent(agent) for agent in agents]
    made: dict[str, Any] = {}
    for seat, agent in enumerate(seats):
        name = seat_name(seat)
        episode_id = sim.seats[seat].episode_id
        # each seat's model calls are recorded under its own operator episode
        journal = StoreCallJournal(sim.store, episode_id)
        if not resumed:
            agent.start(observations[name], infos[name], journal)
            continue
        if name not in env.agents:  # its business is over: it is never asked again
            continue
        if isinstance(agent, SyncAgentAdapter):
            agent.restore(env.core.views.histories[seat], *env.core.views.current[seat])
        else:  # restored when next asked: its last call is answered with what it sees then
            made[name] = _Deferred()
    return seats, made


class _Deferred:
    """An LLM seat of a resumed market, to restore from its calls when next asked."""


def _restore_llm_seat(env: Any, agent: Any, name: str) -> Any:
    """Restore an LLM seat from its call journal, its last call answered with the view
    it is asked on now (after a night it did not see, the night's summary); the decision
    it had made but the env never got, or None."""
    from tycoon.agent_records import StoreCallJournal, load_calls
    from tycoon.agents.base import RecordedView

    sim, seat = env.core.sim, _seat(name)
    episode_id = sim.seats[seat].episode_id
    history = env.core.views.histories[seat]
    history.calls = load_calls(sim.store, episode_id)
    observation, info = str(env.aec.observe(name)), env.core.infos[seat]
    if history.steps:
        history.steps[-1] = RecordedView(history.steps[-1].action, observation, info)
    # the agent reopens its conversation as the reset did (seed, briefing, tools), at the
    # step it has reached
    resumed_info = {**(history.reset_info or {}), **info}
    journal = StoreCallJournal(sim.store, episode_id)
    return agent.restore(history, observation, resumed_info, journal)


async def _decision(agent: Any, made: Any) -> Any:
    return made if made is not None else await agent.decide()


def _seat(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def _observe(agent: Any, decision: Any, env: Any, name: str) -> None:
    observation = env.aec.observe(name)
    agent.observe(decision, str(observation), env.core.infos[_seat(name)])
