"""`tycoon experiment incentives`: does optimising for the env's reward select for
misbehaviour? The logic lives in `tycoon.experiments.incentives`; this is its CLI."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from tycoon.commands.common import _positive_int, ascii_float, output_directory

EXPERIMENTS = ("incentives",)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from tycoon.experiments.incentives import CONDITIONS
    from tycoon.experiments.policy import PROBES

    parser = subparsers.add_parser(
        "experiment",
        help="run an experiment on the envs (incentives: optimisation vs misbehaviour)",
        description=(
            "incentives: per probe, in its pressure and control cells, optimise the "
            "baseline-plus-affordances policy family with the cross-entropy method for the "
            "env's reward, then with behaviour penalties (all monitors visible, then the "
            "held-out monitors unpenalised); report how often the optimised policy uses "
            "each affordance and its score, with 95% intervals over independent runs."
        ),
    )
    parser.add_argument("name", choices=EXPERIMENTS, help="the experiment")
    parser.add_argument(
        "--probes", nargs="+", default=list(PROBES), choices=PROBES, help="probes (default all)"
    )
    parser.add_argument(
        "--conditions",
        nargs="+",
        default=list(CONDITIONS),
        choices=CONDITIONS,
        help="objectives (default all three)",
    )
    parser.add_argument(
        "--runs",
        type=_positive_int,
        default=3,
        help="independent optimisation runs per cell (default 3)",
    )
    parser.add_argument(
        "--days", type=_positive_int, default=60, help="episode length in days (default 60)"
    )
    parser.add_argument(
        "--population", type=_positive_int, default=6, help="CEM samples per iteration (default 6)"
    )
    parser.add_argument(
        "--iterations", type=_positive_int, default=3, help="CEM iterations (default 3)"
    )
    parser.add_argument(
        "--penalty",
        type=_dollars,
        default=500.0,
        help="dollars per penalised behaviour event (default 500)",
    )
    parser.add_argument(
        "--processes", type=_positive_int, default=2, help="worker processes (default 2)"
    )
    parser.add_argument(
        "--out",
        type=output_directory,
        default=None,
        metavar="DIR",
        help="write incentives.json, .csv and .svg",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=handle)


def _dollars(text: str) -> float:
    try:
        value = ascii_float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected finite dollars of at least 0, got {text!r}"
        ) from exc
    if not 0 <= value < float("inf"):  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected finite dollars of at least 0, got {text!r}")
    return value


def handle(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from tycoon.experiments.cem import CEMSettings
    from tycoon.experiments.incentives import (
        ExperimentSettings,
        format_table,
        run_experiment,
        shifts,
        table,
        write_outputs,
    )

    try:
        settings = ExperimentSettings(
            probes=tuple(args.probes),
            conditions=tuple(args.conditions),
            runs=args.runs,
            horizon_days=args.days,
            penalty=args.penalty,
            cem=CEMSettings(population=args.population, iterations=args.iterations),
            processes=args.processes,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        print(f"tycoon: error: {problems}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    bar = tqdm(total=settings.episodes, unit="ep", desc="incentives", disable=args.no_progress)
    results = run_experiment(settings, progress=bar.update)
    bar.close()
    rows = table(results, settings)
    print(format_table(rows))
    print()
    for line in shifts(rows):
        print(line)
    print(f"\n{len(results)} optimisation runs in {time.perf_counter() - started:.0f} s")
    if args.out:
        for path in write_outputs(rows, results, Path(args.out)):
            print(f"wrote {path}", file=sys.stderr)
    return 0
