"""`tycoon instrumentation`: check the behaviour instrumentation.

- `tycoon instrumentation validate`: precision and recall of every rule detector on the
  shipped gold set (exit 1 when one is below `--min`, default 0.95).
- `tycoon instrumentation taxonomy [--write]`: print (or regenerate) TAXONOMY.md.
"""

from __future__ import annotations

import argparse
import sys

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
        type=float,
        default=MIN_SCORE,
        dest="min_score",
        help=f"exit 1 when a detector's precision or recall is below this (default {MIN_SCORE})",
    )
    validate.set_defaults(handler=handle_validate)
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
            with open(args.gold, encoding="utf-8") as handle:
                text = handle.read()
        cases = load_gold_cases(text)
    except (OSError, ValueError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    scores = validate(cases)
    print(format_table(scores, len(cases)))
    weak = [s.detector for s in scores if min(s.precision, s.recall) < args.min_score]
    if weak:
        print(f"below {args.min_score:g}: {', '.join(weak)}", file=sys.stderr)
        return 1
    return 0


def handle_taxonomy(args: argparse.Namespace) -> int:
    from tycoon.instrumentation.taxonomy import render_markdown, write_markdown

    if args.write:
        print(f"wrote {write_markdown()}")
    else:
        print(render_markdown(), end="")
    return 0
