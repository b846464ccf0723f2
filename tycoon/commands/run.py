"""`tycoon run`: one episode, with a progress bar over simulated days and a summary."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

from tycoon.agents.history import ResumeMismatch
from tycoon.agents.llm.settings import add_llm_flags, add_supplier_flags
from tycoon.commands.common import (
    UsageError,
    add_episode_flags,
    add_judge_flags,
    apply_defaults,
    apply_run_spec,
    check_episode_flags,
    episode_number,
    make_agent,
    make_env,
    open_store,
    refuse_unused_llm_flags,
    resumable_episode,
    resume_command,
)
from tycoon.output_files import report_stream, write_output
from tycoon.runner import run_episode, run_episode_sync
from tycoon.summary import EpisodeSummary

# exit status of an LLM run that stopped early (model unreachable): resume it later
EXIT_PAUSED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "run",
        help="run one episode (default: VendingClassic, baseline agent, ./runs/tycoon.db)",
        description="Run one episode and print its summary, ending with the world's state "
        "hash (the same seed and actions give the same hash, resumed or not; `tycoon show "
        "EPISODE` prints it too).",
    )
    add_episode_flags(parser)
    parser.add_argument(
        "--resume",
        type=episode_number,
        default=None,
        metavar="EPISODE",
        help="continue an unfinished episode from --db",
    )
    parser.add_argument(
        "--replay-episode",
        type=episode_number,
        default=None,
        metavar="EPISODE",
        help="with --agent replay: the recorded episode to replay",
    )
    add_llm_flags(parser)
    add_supplier_flags(parser)
    add_judge_flags(
        parser,
        "live LLM judge (episodes with probes)",
        "judge the step's emails, reports and permission requests live with this model",
    )
    parser.add_argument(
        "--reference-agent",
        default=None,
        metavar="AGENT",
        help="score each tag against this agent (e.g. baseline) on the same env, scenario, "
        "seed and limits, in points of opportunity-days above it; reuses a finished matching "
        "episode in --db or runs one",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    started: list[int] = []  # the episode's id, once it exists
    try:
        return _handle(args, started)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {_resume_hint(args, started)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ResumeMismatch as exc:
        print(f"tycoon: error: cannot resume exactly: {exc}", file=sys.stderr)
        return 2


def _resume_hint(args: argparse.Namespace, started: list[int]) -> str:
    if not started:
        return "no episode was started"
    return (
        f"every finished step is in the database; continue with: "
        f"{resume_command('run', args.db, started)}"
    )


def _handle(args: argparse.Namespace, started: list[int]) -> int:
    try:
        if args.resume is None:
            apply_defaults(args)
            check_episode_flags(args)  # before the database file is created
        store = open_store(args.db, must_exist=args.resume is not None)
        if args.resume is not None:
            apply_run_spec(args, resumable_episode(store, args.resume, args.db))
            started.append(args.resume)
        if args.reference_agent is not None:
            from tycoon.agents import AGENTS

            if args.reference_agent not in AGENTS or args.reference_agent in ("openai", "replay"):
                raise UsageError(
                    f"--reference-agent expects a scripted agent such as baseline, got "
                    f"{args.reference_agent!r}"
                )
        refuse_unused_llm_flags(
            args, llm_agent=args.agent == "openai", agents=f"--agent {args.agent}"
        )
        env = make_env(args, store)
        agent = make_agent(args, store)
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    return _run(args, env, agent, started)


def _report(
    args: argparse.Namespace,
    summary: EpisodeSummary,
    state_hash: str,
    extra: dict | None = None,
    judge: Any = None,
) -> None:
    reference = None
    report = report_stream(args.out)
    if args.reference_agent is not None:
        summary, reference = _with_reference_scores(args, summary)
    print("\n".join(summary.lines()), file=report)
    print(state_hash_line(state_hash), file=report)
    if reference is not None:
        print(
            f"reference    episode {reference} ({args.reference_agent}, seed {summary.seed})",
            file=report,
        )
    if judge is not None:
        _report_judge(args, judge, report)
    if args.out:
        payload = {**summary.model_dump(), "state_hash": state_hash, **(extra or {})}
        write_output(args.out, json.dumps(payload, indent=2) + "\n")


def state_hash_line(state_hash: str) -> str:
    """The summary's line for the world's state hash: equal hashes, equal worlds (a
    resumed run's against an uninterrupted one's, one database's against another's)."""
    return f"state hash   {state_hash}"


def _report_judge(args: argparse.Namespace, judge: Any, report: IO[str] | None = None) -> None:
    from tycoon.instrumentation.judge import failure_summary

    problem = failure_summary(judge.verdicts)
    print(
        f"judge        {len(judge.verdicts)} request(s) to {args.judge_model}, "
        + (problem if problem else "all answered"),
        file=report or sys.stdout,
    )


def _judge_status(args: argparse.Namespace, judge: Any) -> int:
    """Exit status 1 when the live judge failed on any request (the behaviour figures are
    incomplete), unless --allow-judge-failures."""
    if judge is None or not judge.failures or args.allow_judge_failures:
        return 0
    print(
        f"tycoon: {len(judge.failures)} of {len(judge.verdicts)} judge requests failed; the "
        "behaviour figures are incomplete (--allow-judge-failures accepts that)",
        file=sys.stderr,
    )
    return 1


def _with_reference_scores(
    args: argparse.Namespace, summary: EpisodeSummary
) -> tuple[EpisodeSummary, int]:
    """The summary with each tag's score against the reference agent (points above it),
    and the reference episode's id (reused when a finished match is in the database)."""
    from tycoon.instrumentation.metrics import episode_metrics_from_store, with_scores
    from tycoon.summary import tag_summary

    store = open_store(args.db)
    reference_id = _reference_episode(args, store, summary)
    mine = episode_metrics_from_store(store, summary.episode_id)
    theirs = episode_metrics_from_store(store, reference_id)
    scored = with_scores(mine, [theirs])
    behavior = {tag: tag_summary(scored.tags[tag]) for tag in summary.behavior}
    return summary.model_copy(update={"behavior": behavior}), reference_id


def _reference_episode(args: argparse.Namespace, store: Any, summary: EpisodeSummary) -> int:
    from sqlalchemy import select

    from tycoon.envs.world.schema import Episode

    if args.agent == args.reference_agent:
        return summary.episode_id
    with store.session() as session:
        episode = session.get(Episode, summary.episode_id)
        assert episode is not None
        config = episode.config
        for candidate in session.scalars(
            select(Episode)
            .where(
                Episode.env_id == summary.env_id,
                Episode.scenario == summary.scenario,
                Episode.seed == summary.seed,
                Episode.agent == args.reference_agent,
                Episode.status != "running",
                Episode.id != summary.episode_id,
            )
            .order_by(Episode.id)
        ):
            if candidate.config == config:
                return candidate.id
    reference_args = argparse.Namespace(**vars(args))
    reference_args.agent = args.reference_agent
    reference_args.model = ""
    reference_args.agent_settings = {}
    env = make_env(reference_args, store)
    try:
        result = run_episode(
            env, make_agent(reference_args, store), seed=summary.seed, progress=False
        )
    finally:
        env.close()
    return result.episode_id


def _run(args: argparse.Namespace, env: Any, agent: Any, started: list[int]) -> int:
    """One episode of any agent through the one episode loop, with a bar over days."""
    calls_model = hasattr(agent, "decide")  # the LLM agent: its calls are reported
    try:
        result = run_episode_sync(
            env,
            agent,
            seed=args.seed,
            resume=args.resume,
            progress=not args.no_progress,
            desc=f"{agent.name} {args.model}" if calls_model else f"{agent.name}",
            on_reset=started.append if args.resume is None else None,
            step_in_thread=bool(args.supplier_model),  # a supplier reply may wait on a model
        )
    finally:
        env.close()
    assert result.summary is not None
    state_hash = env.unwrapped.store.state_hash(result.episode_id)
    judge = getattr(env.unwrapped, "judge", None)
    extra = None
    if calls_model:
        extra = {
            "llm_calls": result.llm_calls,
            "prefix_reuse": result.prefix_reuse,
            "stopped": result.stopped,
        }
    _report(args, result.summary, state_hash, extra, judge=judge)
    if calls_model:
        reuse = result.prefix_reuse or 0
        print(
            f"llm calls    {result.llm_calls} (mean prefix reuse {reuse:.1%})",
            file=report_stream(args.out),
        )
    if result.stopped:
        print(
            f"tycoon: stopped early: {result.stopped}\n"
            f"every finished step is in the database; continue with: "
            f"{resume_command('run', args.db, [result.episode_id])}",
            file=sys.stderr,
        )
        return EXIT_PAUSED
    return _judge_status(args, judge)
