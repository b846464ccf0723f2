"""Flags shared by the commands that run episodes, and building env and agent from them."""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium

import tycoon
from tycoon.envs.world.store import StoreError, WorldStore

DEFAULT_ENV = "tycoon/VendingClassic-v0"
DEFAULT_DB = "runs/tycoon.db"


class UsageError(Exception):
    """A bad flag or combination; printed as `tycoon: error: ...`, exit status 2."""


def add_episode_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", default=DEFAULT_ENV, help=f"environment id (default {DEFAULT_ENV})"
    )
    parser.add_argument(
        "--agent", default="baseline", help="baseline, random, idle, replay or openai"
    )
    parser.add_argument("--model", default="", help="model name for --agent openai")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL")
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="name of the environment variable holding the API key (never stored)",
    )
    parser.add_argument("--seed", type=seed_number, default=0, help="episode seed (default 0)")
    parser.add_argument("--max-days", type=_positive_int, default=None, help="end after N days")
    parser.add_argument("--max-steps", type=_positive_int, default=None, help="end after N steps")
    parser.add_argument(
        "--db", default=DEFAULT_DB, help=f"SQLite file or SQLAlchemy URL (default {DEFAULT_DB})"
    )
    parser.add_argument(
        "--scenario",
        default=None,
        help="scenario name: default, probes, probes-control, or a probe (credit, expansion, "
        "permissions, oversight, shutdown, reporting, competitor) with or without -control "
        "(default: the environment's own)",
    )
    parser.add_argument("--out", default=None, help="write the summary as JSON to this file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


MAX_SEED = 2**63 - 1  # seeds are stored as BIGINT


def seed_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {value}")
    return value


def open_store(db: str, *, must_exist: bool = False, read_only: bool = False) -> WorldStore:
    """The world database. `must_exist` for commands that continue or annotate what runs
    wrote (a missing file is an error naming it, and no file is created); `read_only` for
    commands that only read (nothing in the file changes either)."""
    try:
        return WorldStore(db, must_exist=must_exist, read_only=read_only)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc


def make_env(args: argparse.Namespace, store: WorldStore) -> Any:
    known = [spec["id"] for spec in tycoon.ENVIRONMENTS]
    if args.env not in gymnasium.registry or not args.env.startswith("tycoon/"):
        raise UsageError(f"unknown environment {args.env!r}; expected one of {', '.join(known)}")
    overrides: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if args.max_days is not None:
        overrides["max_days"] = args.max_days
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
        kwargs["max_episode_steps"] = args.max_steps
    if getattr(args, "scenario", None) is not None:
        from tycoon.envs.vending.scenarios import SCENARIOS

        if args.scenario not in SCENARIOS:
            raise UsageError(
                f"unknown scenario {args.scenario!r}; expected one of {', '.join(SCENARIOS)}"
            )
        kwargs["scenario"] = args.scenario
    judge = live_judge(args)
    if judge is not None:
        kwargs["judge"] = judge
    env = gymnasium.make(
        args.env,
        store=store,
        config=overrides or None,
        agent_name=args.agent,
        model_name=args.model,
        **kwargs,
    )
    writer = supplier_writer(args)
    if writer is not None:
        from tycoon.agents.llm.supplier_writer import LlmSupplierReplies

        env = LlmSupplierReplies(env, writer)
    return env


def live_judge(args: argparse.Namespace) -> Any:
    """The `LLMJudge` for --judge-model (run live in the env), or None without it."""
    model = getattr(args, "judge_model", None)
    if not model:
        return None
    import os

    from tycoon.instrumentation.judge import LLMJudge

    if not getattr(args, "judge_base_url", None):
        raise UsageError("--judge-model needs --judge-base-url (an OpenAI-compatible server)")
    return LLMJudge(
        model,
        base_url=args.judge_base_url,
        api_key=os.environ.get(getattr(args, "judge_api_key_env", None) or "OPENAI_API_KEY"),
    )


_SUPPLIER_WRITERS: dict[Any, Any] = {}  # one per settings and process (a client, a thread)


def supplier_writer(args: argparse.Namespace) -> Any:
    """The process's `SupplierReplyWriter` for --supplier-model, or None without it."""
    from pydantic import ValidationError

    from tycoon.agents.llm.settings import supplier_settings_from_args

    try:
        settings = supplier_settings_from_args(args)
        if settings is not None:
            settings.api_key()
    except ValidationError as exc:
        raise UsageError(f"bad supplier model settings: {exc.errors()[0]['msg']}") from exc
    except KeyError as exc:
        raise UsageError(f"--supplier-model: {exc.args[0]}") from exc
    if settings is None:
        return None
    writer = _SUPPLIER_WRITERS.get(settings)
    if writer is None:
        from tycoon.agents.llm.supplier_writer import SupplierReplyWriter

        writer = _SUPPLIER_WRITERS[settings] = SupplierReplyWriter(settings)
    return writer


def make_agent(args: argparse.Namespace, store: WorldStore) -> Any:
    from tycoon.agents import AGENTS

    if args.agent not in AGENTS:
        raise UsageError(f"unknown agent {args.agent!r}; expected one of {', '.join(AGENTS)}")
    if args.agent == "replay":
        source = getattr(args, "replay_episode", None)
        if source is None:
            raise UsageError("--agent replay needs --replay-episode N (an episode in --db)")
        return AGENTS["replay"].from_episode(store, source)
    if args.agent == "random":
        return AGENTS["random"](seed=args.seed)
    if args.agent == "openai":
        from tycoon.agents.llm import ChatClient, LlmAgent

        return LlmAgent(llm_settings(args), ChatClient(llm_settings(args)))
    return AGENTS[args.agent]()


def llm_settings(args: argparse.Namespace) -> Any:
    """`LlmSettings` from the flags, or a UsageError naming what is wrong or missing."""
    from pydantic import ValidationError

    from tycoon.agents.llm.settings import llm_settings_from_args

    if not args.model:
        raise UsageError("--agent openai needs --model (the name the server knows it by)")
    try:
        settings = llm_settings_from_args(args)
        settings.api_key()  # fails early, naming the variable, when the key is missing
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise UsageError(f"bad LLM settings: {problems}") from exc
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from exc
    return settings
