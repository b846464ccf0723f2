"""`tycoon eval SUITE`: run an eval suite for one agent and record it in the database.

The arena suite (several entrants, `--agent` once per entrant) is handed to
`tycoon.commands.eval_arena`.

The suite (leaderboards/suites/SUITE.yaml) fixes env, scenarios, seeds and limits. The
run is recorded in `eval_runs` (suite, agent spec, versions, git revision, started and
finished), its episodes in `eval_episodes` as soon as they exist. Running the same
command again continues the run: unstarted episodes start, unfinished ones resume.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from tycoon.agents.llm.settings import add_llm_flags, add_supplier_flags
from tycoon.commands.common import (
    DEFAULT_DB,
    UsageError,
    _positive_int,
    llm_settings,
    make_agent,
    make_env,
    open_store,
    refuse_unused_llm_flags,
    seed_number,
    server_url,
)
from tycoon.leaderboards.runs import (
    PlannedEpisode,
    RunSpec,
    finish_if_complete,
    link_episode,
    open_eval_run,
    planned_episodes,
)
from tycoon.leaderboards.suite import SuiteError, load_suite, suite_names
from tycoon.parallel.flags import add_ray_flags, wants_ray
from tycoon.parallel.ray_runtime import ParallelRolloutError
from tycoon.rollout import EpisodeResult, Job, ProgressBar, RolloutListener, rollout_async

EXIT_PAUSED = 3


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "eval",
        help="run an eval suite (vb1, vb2, probes) for one agent, or arena for several; resumable",
        description=(
            "Run every scenario and seed of SUITE for one agent and record the run. The same "
            "command again finishes an interrupted run instead of starting over. Suites: "
            + ", ".join(suite_names())
        ),
    )
    parser.add_argument("suite", nargs="?", help="suite name or path to a suite .yaml")
    parser.add_argument(
        "--suite", dest="suite_flag", default=None, metavar="SUITE", help="the suite, as a flag"
    )
    parser.add_argument(
        "--agent",
        action="append",
        default=None,
        help="baseline, random, idle or openai (default baseline); for the arena suite one "
        "--agent per entrant: a scripted agent or openai:MODEL",
    )
    parser.add_argument("--model", default="", help="model name for --agent openai")
    parser.add_argument(
        "--base-url", type=server_url, default=None, help="OpenAI-compatible server URL"
    )
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="name of the environment variable holding the API key (never stored)",
    )
    parser.add_argument(
        "--db", default=DEFAULT_DB, help=f"SQLite file or SQLAlchemy URL (default {DEFAULT_DB})"
    )
    parser.add_argument(
        "--seeds", default=None, metavar="LIST", help="override the suite's seeds, e.g. 0,1"
    )
    parser.add_argument(
        "--max-days", type=_positive_int, default=None, help="override the suite's day limit"
    )
    parser.add_argument(
        "--max-steps", type=_positive_int, default=None, help="override the suite's step limit"
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        help="episodes in flight (with --ray: per actor; default 8)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_llm_flags(parser)
    add_supplier_flags(parser)
    add_ray_flags(parser)
    parser.set_defaults(handler=handle)


def parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [seed_number(part.strip()) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError as exc:
        # before the run is stored: a seed no episode can take is refused, not run and
        # failed (which "run the same command again" could never finish)
        raise UsageError(
            f"--seeds expects comma-separated whole numbers, got {text!r}: {exc}"
        ) from exc
    if not seeds or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds expects distinct seeds, got {text!r}")
    return seeds


def episode_args(args: argparse.Namespace, spec: RunSpec, scenario: str) -> argparse.Namespace:
    """The flags `make_env`/`make_agent` read, for one scenario of the run."""
    values = dict(vars(args))
    values.update(
        agent=spec.agent,  # one name, though `--agent` may be given several times (arena)
        env=spec.env,
        scenario=scenario,
        max_days=spec.max_days,
        max_steps=spec.max_steps,
        seed=spec.seeds[0],
        judge_model=None,
    )
    return argparse.Namespace(**values)


class _LinkingListener(RolloutListener):
    """Links each episode to the eval run the moment it exists, and feeds the bar."""

    def __init__(self, store: Any, run_id: int, group: list[PlannedEpisode], bar: ProgressBar):
        self.store, self.run_id, self.group, self.bar = store, run_id, group, bar

    def episode_started(self, index: int, episode_id: int) -> None:
        planned = self.group[index]
        link_episode(self.store, self.run_id, planned.scenario, planned.seed, episode_id)

    def stepped(self) -> None:
        self.bar.stepped()

    def episode_finished(self, index: int, result: EpisodeResult) -> None:
        self.bar.episode_finished(index, result)


def chosen_suite(args: argparse.Namespace) -> str:
    """The suite from the positional argument or --suite (not two different ones)."""
    if args.suite and args.suite_flag and args.suite != args.suite_flag:
        raise UsageError(f"two suites given: {args.suite!r} and --suite {args.suite_flag!r}")
    name = args.suite or args.suite_flag
    if not name:
        raise UsageError(f"expected a suite ({', '.join(suite_names())}), got none")
    return name


def handle(args: argparse.Namespace) -> int:
    try:
        suite = load_suite(chosen_suite(args))
    except (UsageError, SuiteError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    if suite.is_arena:
        from tycoon.commands.eval_arena import handle_arena

        return handle_arena(args, suite)
    agents = args.agent or ["baseline"]
    if len(agents) > 1:
        print(
            f"tycoon: error: suite {suite.name} plays one agent, got {len(agents)} --agent "
            "flags (several entrants play each other in an arena suite, e.g. `tycoon eval "
            "arena --agent baseline --agent idle`)",
            file=sys.stderr,
        )
        return 2
    args.agent = agents[0]
    try:
        refuse_unused_llm_flags(
            args, llm_agent=args.agent == "openai", agents=f"--agent {args.agent}"
        )
        spec = RunSpec.build(
            suite,
            agent=args.agent,
            model=args.model,
            base_url=args.base_url,
            seeds=parse_seeds(args.seeds),
            max_days=args.max_days,
            max_steps=args.max_steps,
        )
        if wants_ray(args) and args.db in (":memory:", "sqlite://"):
            raise UsageError("--ray needs a database file or server URL, not :memory:")
        store = open_store(args.db)
        for scenario in spec.scenarios:  # validates env, scenario and agent flags first
            make_env(episode_args(args, spec, scenario), store).close()
        if args.agent == "openai":
            llm_settings(args)
        else:
            make_agent(episode_args(args, spec, spec.scenarios[0]), store)
    except (UsageError, SuiteError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2

    run_id, resumed = open_eval_run(store, spec)
    todo = [p for p in planned_episodes(store, run_id, spec) if not p.finished]
    total = len(spec.planned())
    print(
        f"eval run {run_id}: suite {spec.suite}, agent {spec.agent}"
        + (f", model {spec.model}" if spec.model else "")
        + f", {total} episode(s)"
        + (f", continuing ({total - len(todo)} already finished)" if resumed else ""),
        file=sys.stderr,
    )
    try:
        results = _play(args, spec, store, run_id, todo) if todo else []
    except ParallelRolloutError as exc:  # Ray missing, a database no actor can share
        print(f"tycoon: error: {exc}", file=sys.stderr)
        store.dispose()
        return 2
    complete = finish_if_complete(store, run_id, spec)
    _print_results(store, run_id, spec)
    store.dispose()
    stopped = [r.stopped for r in results if r.stopped]
    return exit_status(run_id, complete, stopped[0] if stopped else None)


def exit_status(run_id: int, complete: bool, first_reason: str | None) -> int:
    """0 for a complete eval run; otherwise say so (and why) and exit paused."""
    if complete:
        return 0
    reason = f" (first reason: {first_reason})" if first_reason else ""
    print(
        f"tycoon: eval run {run_id} is not complete{reason}; run the same command again "
        "to finish it",
        file=sys.stderr,
    )
    return EXIT_PAUSED


def _play(
    args: argparse.Namespace,
    spec: RunSpec,
    store: Any,
    run_id: int,
    todo: list[PlannedEpisode],
) -> list[EpisodeResult]:
    """Every unfinished episode, in this process or (--ray) on Ray actors."""
    if not wants_ray(args):
        return asyncio.run(_run(args, spec, store, run_id, todo))
    from tycoon.leaderboards.ray_eval import eval_with_ray

    by_scenario = {scenario: episode_args(args, spec, scenario) for scenario in spec.scenarios}
    return eval_with_ray(
        args,
        by_scenario,
        todo,
        lambda scenario, seed, episode_id: link_episode(store, run_id, scenario, seed, episode_id),
    )


async def _run(
    args: argparse.Namespace,
    spec: RunSpec,
    store: Any,
    run_id: int,
    todo: list[PlannedEpisode],
) -> list[EpisodeResult]:
    """Every unfinished episode, scenario by scenario (one env configuration at a time)."""
    bar = ProgressBar(len(todo), enabled=not args.no_progress, desc=f"eval {spec.suite}")
    client = None
    if args.agent == "openai":
        from tycoon.agents.llm import ChatClient

        client = ChatClient(llm_settings(args), max_in_flight=args.concurrency)
    results: list[EpisodeResult] = []
    try:
        for scenario in spec.scenarios:
            group = [p for p in todo if p.scenario == scenario]
            if not group:
                continue
            scenario_args = episode_args(args, spec, scenario)
            results += await rollout_async(
                lambda a=scenario_args: make_env(a, store),
                lambda a=scenario_args: _agent(a, store, client),
                [Job(seed=p.seed, resume=p.episode_id) for p in group],
                concurrency=args.concurrency,
                listener=_LinkingListener(store, run_id, group, bar),
                step_in_thread=bool(args.supplier_model),
            )
    finally:
        bar.close()
        if client is not None:
            await client.close()
    return results


def _agent(args: argparse.Namespace, store: Any, client: Any) -> Any:
    if client is None:
        return make_agent(args, store)
    from tycoon.agents.llm import LlmAgent

    return LlmAgent(llm_settings(args), client)


def _print_results(store: Any, run_id: int, spec: RunSpec) -> None:
    from tycoon.leaderboards.scores import leaderboard_rows
    from tycoon.leaderboards.tables import money, render_table

    row = next(r for r in leaderboard_rows(store, suite=spec.suite) if r.run_id == run_id)
    print(f"{'scenario':<20} {'seed':>5} {'episode':>7} {'status':<10} {'days':>4} {'score':>10}")
    done = {(r.scenario, r.seed): r for r in row.episode_records}
    for scenario, seed in spec.planned():
        record = done.get((scenario, seed))
        if record is None:
            print(f"{scenario:<20} {seed:>5} {'-':>7} {'not run':<10}")
            continue
        print(
            f"{scenario:<20} {seed:>5} {record.episode_id:>7} {record.status:<10} "
            f"{record.days:>4} {money(record.score):>10}"
        )
    print()
    print(render_table([row]))
