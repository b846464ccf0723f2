"""`tycoon instrumentation`: check the behaviour instrumentation.

- `tycoon instrumentation validate`: precision and recall of every rule detector on the
  shipped gold set (exit 1 when one is below `--min`, default 0.95). With
  `--judge-model M --judge-base-url U` it also asks that LLM judge every request the
  gold cases call for and prints its precision and recall per judged tag (the judge-only
  tags have their own labelled cases, gold/judge.jsonl) and its agreement with the rule
  detectors on the tags both score; failed judge requests are counted and exit 1.
- `tycoon instrumentation agreement --db DB [--episode N]`: the stored judge verdicts of
  episodes against the rule detectors' events on the tags both score.
- `tycoon instrumentation taxonomy [--write]`: print (or regenerate) TAXONOMY.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from tycoon.commands.common import episode_number, fraction, server_url

MIN_SCORE = 0.95


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "instrumentation", help="validate the behaviour detectors, show the taxonomy"
    )
    actions = parser.add_subparsers(dest="instrumentation_command", metavar="ACTION")
    validate = actions.add_parser(
        "validate", help="precision and recall of every rule detector on the gold set"
    )
    validate.add_argument(
        "--gold", default=None, help="a gold-set JSONL file (default: the shipped one)"
    )
    validate.add_argument(
        "--min",
        type=fraction,
        default=MIN_SCORE,
        dest="min_score",
        help=f"exit 1 when a detector's precision or recall is below this (default {MIN_SCORE})",
    )
    validate.add_argument("--judge-model", help="also score this LLM judge on the gold cases")
    validate.add_argument(
        "--judge-base-url", type=server_url, help="the judge's OpenAI-compatible server URL"
    )
    validate.add_argument(
        "--judge-api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the judge's API key (default OPENAI_API_KEY)",
    )
    validate.add_argument(
        "--judge-threshold", type=fraction, default=0.5, help="confidence a yes needs (0.5)"
    )
    validate.set_defaults(handler=handle_validate)
    agreement = actions.add_parser(
        "agreement", help="stored judge verdicts against the rule detectors (shared tags)"
    )
    agreement.add_argument("--db", required=True, help="SQLite file or SQLAlchemy URL")
    agreement.add_argument(
        "--episode",
        type=episode_number,
        action="append",
        help="episode id (repeatable; default: all)",
    )
    agreement.set_defaults(handler=handle_agreement)
    taxonomy = actions.add_parser("taxonomy", help="print the tag taxonomy as Markdown")
    taxonomy.add_argument(
        "--write", action="store_true", help="regenerate instrumentation/TAXONOMY.md"
    )
    taxonomy.set_defaults(handler=handle_taxonomy)
    parser.set_defaults(handler=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def handle_validate(args: argparse.Namespace) -> int:
    from tycoon.instrumentation.validation import format_table, load_gold_cases, validate

    try:
        text = None
        if args.gold:
            try:
                with open(args.gold, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise ValueError(
                    f"expected a gold-set JSONL file, got {args.gold!r}: {exc.strerror or exc}"
                ) from exc
        cases = load_gold_cases(text, source=args.gold or "the gold text")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    if bool(args.judge_model) != bool(args.judge_base_url):
        print(
            "tycoon: error: expected --judge-model and --judge-base-url together, got "
            + ("only --judge-model" if args.judge_model else "only --judge-base-url"),
            file=sys.stderr,
        )
        return 2
    scores = validate(cases)
    print(format_table(scores, len(cases)))
    status = 0
    weak = [s.detector for s in scores if min(s.precision, s.recall) < args.min_score]
    if weak:
        print(f"below {args.min_score:g}: {', '.join(weak)}", file=sys.stderr)
        status = 1
    if args.judge_model:
        status = max(status, _validate_judge(args, cases))
    return status


def _validate_judge(args: argparse.Namespace, cases: list) -> int:
    from tycoon.instrumentation.judge import LLMJudge
    from tycoon.instrumentation.judge_eval import (
        agreement,
        format_agreement,
        format_judge_table,
        gold_pairs,
        judge_scores,
        labelled_verdicts,
    )

    judge = LLMJudge(
        args.judge_model,
        base_url=args.judge_base_url,
        api_key=os.environ.get(args.judge_api_key_env),
        threshold=args.judge_threshold,
    )
    asked = labelled_verdicts(cases, judge)
    print()
    print(format_judge_table(judge_scores(asked, judge.threshold), args.judge_model))
    print()
    print(format_agreement(agreement(gold_pairs(asked, judge.threshold))))
    failed = [verdict for _case, verdict, _label in asked if verdict.error is not None]
    if failed:
        first = failed[0]
        print(
            f"{len(failed)} of {len(asked)} judge requests failed: "
            f"{first.error_kind}: {first.error}",
            file=sys.stderr,
        )
        return 1
    return 0


def handle_agreement(args: argparse.Namespace) -> int:
    from tycoon.commands.common import open_store
    from tycoon.instrumentation.judge_eval import agreement, format_agreement, stored_pairs

    store = open_store(args.db, read_only=True)
    try:
        print(format_agreement(agreement(stored_pairs(store, args.episode))))
    finally:
        store.dispose()
    return 0


def handle_taxonomy(args: argparse.Namespace) -> int:
    from tycoon.instrumentation.taxonomy import render_markdown, write_markdown

    if args.write:
        print(f"wrote {write_markdown()}")
    else:
        print(render_markdown(), end="")
    return 0
