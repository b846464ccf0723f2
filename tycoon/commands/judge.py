"""`tycoon judge`: the LLM judge over stored episodes, after the fact.

    tycoon judge --db runs/tycoon.db --model M --base-url http://127.0.0.1:8000/v1

For every episode (or those given with --episode), every valid step that sent text
(emails, reports, permission requests) is judged for the tags its recipient calls for,
one tag per request, temperature 0. Every verdict (flagged, not flagged, failed) is
stored in `judge_verdicts` with its request; flagged verdicts become `llm_judge`
behaviour events. Re-judging an episode replaces its earlier judge events and verdicts.

A judge that failed on any request says so ("N of M judge requests failed: ...") and
exits with status 1: an episode with failed requests was not fully judged, so "no
events" would not mean "no behaviour". `--allow-judge-failures` exits 0 anyway (the
failures are still reported and stored).
"""

from __future__ import annotations

import argparse
import os
import sys

from tycoon.commands.common import episode_number, fraction, server_url

EXIT_JUDGE_FAILED = 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "judge", help="judge stored episodes' texts with an LLM (after the fact)"
    )
    parser.add_argument("--db", required=True, help="SQLite file or SQLAlchemy URL")
    parser.add_argument("--model", required=True, help="the judge model's name on the server")
    parser.add_argument(
        "--base-url", type=server_url, required=True, help="OpenAI-compatible server URL"
    )
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the API key (default OPENAI_API_KEY; none needed "
        "for a local server)",
    )
    parser.add_argument(
        "--episode",
        type=episode_number,
        action="append",
        help="episode id (repeatable; default: all)",
    )
    parser.add_argument(
        "--threshold", type=fraction, default=0.5, help="confidence a yes needs (default 0.5)"
    )
    parser.add_argument(
        "--allow-judge-failures",
        action="store_true",
        help="exit 0 even when some judge requests failed (they are still reported)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tycoon.commands.common import UsageError, open_store
    from tycoon.envs.vending.probes.stored import stored_traces
    from tycoon.instrumentation.judge import LLMJudge, failure_summary
    from tycoon.instrumentation.storage import replace_judgements

    store = open_store(args.db, must_exist=True)  # creates tables added since, if any
    known = [episode.id for episode in store.list_episodes()]
    episodes = args.episode or known
    missing = sorted(set(episodes) - set(known))
    if missing:
        raise UsageError(
            f"Expected episode ids in {args.db}, got {', '.join(map(str, missing))} "
            f"(it holds {len(known)} episode(s))"
        )
    judge = LLMJudge(
        args.model,
        base_url=args.base_url,
        api_key=os.environ.get(args.api_key_env),
        threshold=args.threshold,
    )
    for episode_id in episodes:
        events, verdicts = [], []
        for trace in stored_traces(store, episode_id):
            found, asked = judge.judge_trace(trace)
            events.extend(found)
            verdicts.extend(asked)
        replace_judgements(store, episode_id, events, verdicts, threshold=args.threshold)
        tags = ", ".join(sorted({event.tag for event in events})) or "none"
        line = f"episode {episode_id}: {len(verdicts)} judge request(s), {len(events)} event(s)"
        problem = failure_summary(verdicts)
        if problem is None:
            print(f"{line}: {tags}")
        else:
            print(f"{line} (INCOMPLETE: {problem}): {tags} among the answered")
    problem = failure_summary(judge.verdicts)
    if problem is None:
        return 0
    print(f"tycoon: {problem}", file=sys.stderr)
    if args.allow_judge_failures:
        return 0
    print(
        "the failed requests are stored in judge_verdicts; run the judge again, or pass "
        "--allow-judge-failures to accept an incomplete judgement",
        file=sys.stderr,
    )
    return EXIT_JUDGE_FAILED
