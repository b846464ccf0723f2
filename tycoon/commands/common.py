"""Flags shared by the commands that run episodes, and building env and agent from them."""

from __future__ import annotations

import argparse
import math
import re
import shlex
from typing import Any

import gymnasium

import tycoon
from tycoon.envs.vending.config import MAX_COUNT
from tycoon.envs.world.store import StoreError, WorldStore
from tycoon.task_rows import MAX_SEED

DEFAULT_ENV = "tycoon/VendingClassic-v0"
DEFAULT_DB = "runs/tycoon.db"


class UsageError(Exception):
    """A bad flag or combination; printed as `tycoon: error: ...`, exit status 2."""


# flags whose default is applied after parsing (None = not given), so that a resume can
# tell a flag given explicitly, which must agree with the episode, from a default
EPISODE_DEFAULTS: dict[str, Any] = {
    "env": DEFAULT_ENV,
    "agent": "baseline",
    "model": "",
    "seed": 0,
    "max_tokens": 2048,
    "context_tokens": 32_000,
    "api_key_env": "OPENAI_API_KEY",
}
# flags that must agree with a resumed episode's RunSpec when given
SPEC_FLAGS = (
    "env",
    "agent",
    "model",
    "scenario",
    "max_days",
    "max_steps",
    "replay_episode",
    "temperature",
    "max_tokens",
    "context_tokens",
    "return_token_ids",
    "logprobs",
    "supplier_model",
    "judge_model",
)


def add_episode_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default=None, help=f"environment id (default {DEFAULT_ENV})")
    parser.add_argument(
        "--agent",
        default=None,
        help="baseline, oracle (reads hidden catalog parameters), random, idle, replay, openai "
        "or a misbehaving agent (default baseline)",
    )
    parser.add_argument("--model", default=None, help="model name for --agent openai")
    parser.add_argument(
        "--base-url", type=server_url, default=None, help="OpenAI-compatible server URL"
    )
    parser.add_argument(
        "--api-key-env",
        default=None,
        help="name of the environment variable holding the API key (never stored; "
        "default OPENAI_API_KEY)",
    )
    parser.add_argument("--seed", type=seed_number, default=None, help="episode seed (default 0)")
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
    parser.add_argument(
        "--out",
        type=output_file_or_stdout,
        default=None,
        help="write the summary as JSON to this file (-: standard output, and the text "
        "summary goes to standard error)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_judge_flags(parser: argparse.ArgumentParser, title: str, model_help: str) -> None:
    """The live judge's flags (`--judge-model` and its server), for run and arena run."""
    judge = parser.add_argument_group(title)
    judge.add_argument("--judge-model", default=None, help=model_help)
    judge.add_argument(
        "--judge-base-url", type=server_url, default=None, help="the judge's OpenAI-compatible URL"
    )
    judge.add_argument(
        "--judge-api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the judge's API key (default OPENAI_API_KEY; none "
        "needed for a local server)",
    )
    judge.add_argument(
        "--allow-judge-failures",
        action="store_true",
        help="exit 0 even when some judge requests failed (they are still reported)",
    )


def _positive_int(text: str) -> int:
    try:
        value = ascii_int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a number of at most {MAX_COUNT}, got {value}")
    return value


# the one rule for numbers on the command line: ASCII digits, an optional sign, a point
# and an exponent. `int` and `float` alone also take other scripts' digits ("١٢" is 12),
# underscores ("1_000"), surrounding spaces, and `float` takes "inf" and "nan"
_ASCII_WHOLE = re.compile(r"[+-]?[0-9]+")
_ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def ascii_int(text: str) -> int:
    """A whole number in ASCII digits, or a ValueError."""
    if not _ASCII_WHOLE.fullmatch(text):
        raise ValueError(f"expected a whole number in ASCII digits, got {text!r}")
    return int(text)


def ascii_float(text: str) -> float:
    """A finite decimal number in ASCII digits, or a ValueError."""
    if not _ASCII_DECIMAL.fullmatch(text):
        raise ValueError(f"expected a number in ASCII digits, got {text!r}")
    value = float(text)
    if not math.isfinite(value):  # "1e999"
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def whole_number_flag(text: str) -> int:
    """An argparse type: a whole number in ASCII digits (bounds are checked by the
    settings the flag feeds)."""
    try:
        return ascii_int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc


def number_flag(text: str) -> float:
    """An argparse type: a finite number in ASCII digits (bounds are checked by the
    settings the flag feeds)."""
    try:
        return ascii_float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}") from exc


def server_url(text: str) -> str:
    """A model server flag's value (`--base-url` and its kin): an http(s) URL with a host,
    refused at parsing rather than after an episode has started and its requests failed."""
    from urllib.parse import urlsplit

    expected = "expected an http:// or https:// URL of an OpenAI-compatible server"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}")
    return text


def output_file(text: str) -> str:
    """An output file flag's value, refused at parsing when it cannot be written (before
    any work); a missing parent directory is created when the file is written."""
    from tycoon.output_files import output_problem

    problem = output_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"expected a file path to write, got {text!r}: {problem}")
    return text


def output_file_or_stdout(text: str) -> str:
    """An output file flag that may also be `-`, standard output."""
    from tycoon.output_files import STDOUT

    return text if text == STDOUT else output_file(text)


def output_directory(text: str) -> str:
    """An output directory flag's value, refused at parsing when no file can be written
    in it (before any work); a missing directory is created when the files are written."""
    from tycoon.output_files import output_problem

    problem = output_problem(text, directory=True)
    if problem:
        raise argparse.ArgumentTypeError(
            f"expected a directory to write in, got {text!r}: {problem}"
        )
    return text


def apply_defaults(args: argparse.Namespace) -> None:
    """Fill the flags not given with their defaults (a new episode)."""
    for name, value in EPISODE_DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def given_spec_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags of SPEC_FLAGS given on the command line, by flag name."""
    given = {}
    for name in SPEC_FLAGS:
        value = getattr(args, name, None)
        if value is not None and value is not False:
            given[name.replace("_", "-")] = value
    return given


def resumable_episode(store: WorldStore, episode_id: int, db: str) -> Any:
    """The episode to resume, or a UsageError when it does not exist or has ended."""
    from tycoon.envs.world.schema import Episode

    with store.session() as session:
        episode = session.get(Episode, episode_id)
    if episode is None:
        raise UsageError(f"no episode {episode_id} in {db}; `tycoon episodes --db {db}` lists them")
    if episode.status != "running":
        raise UsageError(
            f"episode {episode_id} has already ended ({episode.status}, day {episode.day}, "
            f"{episode.step_count} steps); nothing to resume"
        )
    return episode


def apply_run_spec(args: argparse.Namespace, episode: Any) -> Any:
    """Set `args` from the episode's RunSpec for a resume; refuse flags that contradict
    it (a UsageError naming both values). Returns the spec."""
    from tycoon.run_spec import RunSpec

    spec = RunSpec.of_episode(episode)
    problems = spec.conflicts(given_spec_flags(args))
    if args.seed is not None and args.seed != episode.seed:
        problems.append(f"--seed {args.seed} (the episode's is {episode.seed})")
    if problems:
        raise UsageError(
            f"episode {episode.id} was run with another setting: got "
            + "; ".join(problems)
            + ". Leave the flag out to resume it as it was run"
        )
    args.env, args.scenario = spec.env_id, spec.scenario
    args.max_days, args.max_steps = spec.max_days, spec.max_steps
    args.agent, args.model = spec.agent, spec.model
    args.seed = episode.seed
    args.agent_settings = dict(spec.agent_settings)
    if "replay_episode" in spec.agent_settings:
        args.replay_episode = spec.agent_settings["replay_episode"]
    if spec.agent == "openai":
        for name in ("temperature", "max_tokens", "context_tokens", "return_token_ids", "logprobs"):
            setattr(args, name, spec.agent_settings.get(name, EPISODE_DEFAULTS.get(name)))
        for name in ("base_url", "api_key_env"):  # where the model is: may move
            if getattr(args, name, None) is None:
                setattr(args, name, spec.agent_settings.get(name))
    supplier = spec.supplier_settings
    args.supplier_model = supplier["model"] if supplier else None
    if supplier and getattr(args, "supplier_base_url", None) is None:
        args.supplier_base_url = supplier.get("base_url")
    if supplier and getattr(args, "supplier_api_key_env", None) is None:
        args.supplier_api_key_env = supplier.get("api_key_env")
    judge = spec.judge
    args.judge_model = judge.model if judge else None
    if judge and getattr(args, "judge_base_url", None) is None:
        args.judge_base_url = judge.base_url
    if judge and judge.api_key_env and getattr(args, "judge_api_key_env", None) is None:
        args.judge_api_key_env = judge.api_key_env
    apply_defaults(args)
    return spec


# flags only the LLM agent reads, and flags of the model server that the LLM agent and
# the LLM-written supplier replies (--supplier-model) read
LLM_AGENT_FLAGS = (
    "model",
    "temperature",
    "max_tokens",
    "context_tokens",
    "return_token_ids",
    "logprobs",
)
LLM_SERVER_FLAGS = ("base_url", "api_key_env", "timeout", "max_retries", "backoff", "transport")


def refuse_unused_llm_flags(args: argparse.Namespace, *, llm_agent: bool, agents: str) -> None:
    """A UsageError for an LLM flag given where no model would read it (a scripted
    agent's run ignores `--temperature`: say so rather than run without it). `agents`
    names the command's agents for the message."""
    uses_server = llm_agent or bool(getattr(args, "supplier_model", None))
    for name in LLM_AGENT_FLAGS + LLM_SERVER_FLAGS:
        if (name in LLM_SERVER_FLAGS and uses_server) or (name in LLM_AGENT_FLAGS and llm_agent):
            continue
        if _given_llm_flag(args, name):
            flag = "--" + name.replace("_", "-")
            supplier = name in LLM_SERVER_FLAGS and hasattr(args, "supplier_model")
            readers = "an LLM agent or --supplier-model" if supplier else "an LLM agent"
            raise UsageError(
                f"{flag} is for {readers}, got {agents}; leave {flag} out (no model reads it)"
            )


def _given_llm_flag(args: argparse.Namespace, name: str) -> bool:
    """Whether an LLM flag was given a value of its own (not left at its default)."""
    value = getattr(args, name, None)
    if value is None or value is False or (isinstance(value, str) and not value):
        return False
    defaults = (_llm_flag_defaults().get(name), EPISODE_DEFAULTS.get(name))
    return not any(type(value) is type(default) and value == default for default in defaults)


def _llm_flag_defaults() -> dict[str, Any]:
    from tycoon.agents.llm.settings import add_llm_flags

    parser = argparse.ArgumentParser(add_help=False)
    add_llm_flags(parser)
    return {action.dest: action.default for action in parser._actions}


def run_spec_from_args(args: argparse.Namespace) -> Any:
    """The RunSpec of an episode started with these flags (never a key: the spec names
    the variables that hold keys)."""
    from tycoon.agents.llm.settings import supplier_settings_from_args
    from tycoon.run_spec import RunSpec, ServerSpec

    agent_settings: dict[str, Any] = {}
    if args.agent == "random":
        agent_settings = {"seed": _agent_seed(args)}
    elif args.agent == "replay":
        agent_settings = {"replay_episode": getattr(args, "replay_episode", None)}
    elif args.agent == "openai":
        agent_settings = llm_settings(args).model_dump(mode="json")
    supplier = supplier_settings_from_args(args)
    judge_model = getattr(args, "judge_model", None)
    return RunSpec(
        env_id=args.env,
        scenario=getattr(args, "scenario", None),
        max_days=args.max_days,
        max_steps=args.max_steps,
        agent=args.agent,
        model=args.model or "",
        agent_settings=agent_settings,
        supplier_settings=supplier.model_dump(mode="json") if supplier else None,
        judge=ServerSpec(
            model=judge_model,
            base_url=getattr(args, "judge_base_url", None),
            api_key_env=getattr(args, "judge_api_key_env", None),
        )
        if judge_model
        else None,
    )


def _agent_seed(args: argparse.Namespace) -> int:
    stored = getattr(args, "agent_settings", None) or {}
    return int(stored.get("seed", args.seed))


def resume_command(command: str, db: str, episode_ids: list[int]) -> str:
    """The command line that continues these episodes."""
    ids = ",".join(str(i) for i in episode_ids)
    return f"tycoon {command} --db {shlex.quote(db)} --resume {ids}"


def seed_number(text: str) -> int:
    return _whole_number(text, "a whole number", "a seed", 0, MAX_SEED)


def _whole_number(text: str, expected: str, named: str, low: int, high: int) -> int:
    """A flag's whole number within [low, high], or an ArgumentTypeError naming both."""
    try:
        value = ascii_int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from exc
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {named} from {low} to {high}, got {value}")
    return value


MAX_ID = MAX_SEED  # ids are SQL BIGINT too


def episode_number(text: str) -> int:
    """An episode (or market) id flag: a whole number the database can hold."""
    return _whole_number(text, "an episode id", "an id", 1, MAX_ID)


def episode_ids(text: str) -> list[int]:
    """Comma-separated episode ids (`--resume 4,5,6`), or a UsageError naming them."""
    try:
        ids = [episode_number(part) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--resume expects comma-separated episode ids, got {text!r}") from exc
    if not ids:
        raise UsageError(f"--resume expects comma-separated episode ids, got {text!r}")
    return ids


def non_negative_int(text: str) -> int:
    return _whole_number(text, "a whole number", "a number", 0, MAX_COUNT)


def fraction(text: str) -> float:
    """A threshold or score flag: a finite number from 0 to 1."""
    try:
        value = ascii_float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from exc
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def open_store(db: str, *, must_exist: bool = False, read_only: bool = False) -> WorldStore:
    """The world database. `must_exist` for commands that continue or annotate what runs
    wrote (a missing file is an error naming it, and no file is created); `read_only` for
    commands that only read (nothing in the file changes either)."""
    if not db.strip():
        raise UsageError("--db expects a SQLite file or a database URL, got an empty string")
    _check_database_url(db)
    if not (must_exist or read_only):
        refuse_unnamed_memory_database(db)
    try:
        return WorldStore(db, must_exist=must_exist, read_only=read_only)
    except StoreError as exc:
        creates = not (must_exist or read_only)
        raise UsageError(f"{exc}{_unwritable_folder_hint(db, creates=creates)}") from exc


def refuse_unnamed_memory_database(db: str) -> None:
    """A UsageError for `--db sqlite://` or `sqlite:///` on a command that saves: a URL
    with the file's name left out, which SQLite takes as an in-memory database, so the
    run would save nothing (`--db :memory:` still asks for that on purpose)."""
    if "://" not in db:
        return
    from sqlalchemy.engine import make_url

    url = make_url(db)
    if url.get_backend_name() == "sqlite" and not url.database:
        raise UsageError(
            f"--db expects a SQLite file, got {db!r}, which names none: SQLite would keep "
            f"the run in memory and save nothing; write a file (--db runs/tycoon.db or "
            f"--db sqlite:///runs/tycoon.db), or --db :memory: to save nothing on purpose"
        )


def _unwritable_folder_hint(db: str, *, creates: bool) -> str:
    """Why SQLite could not open a file, when the reason is its folder: no file can be
    created there (a read-only disk, no permission), and SQLite creates its journal
    files beside the database even to read one. Empty otherwise."""
    from tycoon.envs.world.store import database_url, sqlite_path
    from tycoon.output_files import output_problem

    try:
        path = sqlite_path(database_url(db))
    except Exception:  # not a URL SQLite takes: the error already says so
        return ""
    if path is None or not path.parent.is_dir():
        return ""
    problem = output_problem(str(path.parent), directory=True)
    if problem is None or not (creates or path.exists()):
        return ""
    if not path.exists():
        return f"; {problem}"
    return (
        f"; {problem}, and SQLite creates its journal files beside the database even to "
        "read it: copy the file to a folder you can write"
    )


def check_episode_flags(args: argparse.Namespace) -> None:
    """Refuse an unknown environment, scenario or agent, and LLM flags nothing reads, before
    a database is opened (so that a bad command line creates no file)."""
    _check_env_id(args.env)
    _check_scenario(getattr(args, "scenario", None))
    _check_agent_name(args.agent)
    refuse_unused_llm_flags(args, llm_agent=args.agent == "openai", agents=f"--agent {args.agent}")


def _check_env_id(env_id: str) -> None:
    known = [spec["id"] for spec in tycoon.ENVIRONMENTS]
    if env_id not in gymnasium.registry or not env_id.startswith("tycoon/"):
        raise UsageError(f"unknown environment {env_id!r}; expected one of {', '.join(known)}")


def _check_scenario(scenario: str | None) -> None:
    from tycoon.envs.vending.scenarios import SCENARIOS

    if scenario is not None and scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")


def _check_agent_name(agent: str) -> None:
    from tycoon.agents import AGENTS

    if agent not in AGENTS:
        raise UsageError(f"unknown agent {agent!r}; expected one of {', '.join(AGENTS)}")


def _check_database_url(db: str) -> None:
    """A UsageError for a `--db` URL SQLAlchemy cannot read (a bad port, an unclosed
    bracket), naming it without its password."""
    if "://" not in db:
        return  # a file path
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(db).port  # noqa: B018 (parsed lazily: a port that is not a number raises)
    except (ArgumentError, ValueError) as exc:
        shown = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", db)
        raise UsageError(
            f"--db expects a SQLite file or a database URL (dialect://user@host:port/name), "
            f"got {shown!r}: {exc}"
        ) from exc


def make_env(args: argparse.Namespace, store: WorldStore) -> Any:
    _check_env_id(args.env)
    overrides: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if args.max_days is not None:
        overrides["max_days"] = args.max_days
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
        kwargs["max_episode_steps"] = args.max_steps
    if getattr(args, "scenario", None) is not None:
        _check_scenario(args.scenario)
        kwargs["scenario"] = args.scenario
    judge = live_judge(args)
    if judge is not None:
        kwargs["judge"] = judge
    writer = supplier_writer(args)
    if writer is not None:
        kwargs["reply_writer"] = writer
    env = gymnasium.make(
        args.env,
        store=store,
        config=overrides or None,
        agent_name=args.agent,
        model_name=args.model,
        run_spec=run_spec_from_args(args).model_dump(mode="json"),
        **kwargs,
    )
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
        from tycoon.envs.vending.supplier_writer import SupplierReplyWriter

        writer = _SUPPLIER_WRITERS[settings] = SupplierReplyWriter(settings)
    return writer


def close_supplier_writers() -> None:
    """Close the process's supplier writers (their model clients and loop threads): a
    command's end, so no HTTP session outlives it."""
    while _SUPPLIER_WRITERS:
        _, writer = _SUPPLIER_WRITERS.popitem()
        writer.close()


def make_agent(args: argparse.Namespace, store: WorldStore) -> Any:
    from tycoon.agents import AGENTS

    _check_agent_name(args.agent)
    if args.agent == "replay":
        source = getattr(args, "replay_episode", None)
        if source is None:
            raise UsageError("--agent replay needs --replay-episode N (an episode in --db)")
        from tycoon.agent_records import recorded_actions

        actions = recorded_actions(store, source)
        if not actions:
            raise UsageError(
                f"--replay-episode expects an episode of --db with recorded steps, got {source}: "
                f"{args.db} has no steps of episode {source}"
            )
        return AGENTS["replay"](actions)
    if args.agent == "random":
        return AGENTS["random"](seed=_agent_seed(args))
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
        stored = getattr(args, "agent_settings", None)
        if stored:  # a resume: the stored settings, but the server may have moved
            from tycoon.agents.llm.settings import LlmSettings
            from tycoon.run_spec import OPERATIONAL_SETTINGS

            where = settings.model_dump(include=set(OPERATIONAL_SETTINGS))
            settings = LlmSettings.model_validate({**stored, **where})
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
