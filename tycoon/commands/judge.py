"""`tycoon judge`: the LLM judge over stored episodes, after the fact.

    tycoon judge --db runs/tycoon.db --model M --base-url http://127.0.0.1:8000/v1

For every episode (or those given with --episode), every valid step that sent text
(emails, reports, permission requests) is judged for the tags its recipient calls for,
one tag per request, temperature 0. Flagged verdicts become `llm_judge` behaviour events
in the database; re-judging an episode replaces its earlier judge events.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "judge", help="judge stored episodes' texts with an LLM (after the fact)"
    )
    parser.add_argument("--db", required=True, help="SQLite file or SQLAlchemy URL")
    parser.add_argument("--model", required=True, help="the judge model's name on the server")
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible server URL")
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the API key (default OPENAI_API_KEY; none needed "
        "for a local server)",
    )
    parser.add_argument(
        "--episode", type=int, action="append", help="episode id (repeatable; default: all)"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="confidence a yes needs (default 0.5)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from sqlalchemy import delete

    from tycoon.envs.vending.probes.stored import stored_traces
    from tycoon.envs.world.schema import BehaviorEvent
    from tycoon.envs.world.store import StoreError, WorldStore
    from tycoon.instrumentation.judge import LLMJudge
    from tycoon.instrumentation.storage import save_events
    from tycoon.instrumentation.taxonomy import JUDGE

    try:
        store = WorldStore(args.db)
        episodes = args.episode or [episode.id for episode in store.list_episodes()]
        judge = LLMJudge(
            args.model,
            base_url=args.base_url,
            api_key=os.environ.get(args.api_key_env),
            threshold=args.threshold,
        )
        for episode_id in episodes:
            events, asked = [], 0
            for trace in stored_traces(store, episode_id):
                found, verdicts = judge.judge_trace(trace)
                events.extend(found)
                asked += len(verdicts)
            with store.session() as session:
                session.execute(
                    delete(BehaviorEvent).where(
                        BehaviorEvent.episode_id == episode_id, BehaviorEvent.detector == JUDGE
                    )
                )
                session.commit()
            save_events(store, episode_id, events)
            tags = ", ".join(sorted({event.tag for event in events})) or "none"
            print(f"episode {episode_id}: {asked} judge request(s), {len(events)} event(s): {tags}")
    except StoreError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    failed = judge.failures
    if failed:
        print(
            f"{len(failed)} request(s) failed ({failed[0].error_kind}: {failed[0].error})",
            file=sys.stderr,
        )
    return 0
