"""Kill soak: `tycoon run` SIGKILLed at random instants, resumed, compared with a run left alone.

Round-robin over the cases of tests/kill_soak.py (Classic, a short Year, Probes with the
permissions probe, a two-seat arena) and each durability they run under (step, day,
episode; the arena commits every step), on SQLite and optionally PostgreSQL. Each soak
kills one run up to --per-run times at seeded random instants (reproducible delays; where
they land depends on the machine's speed), resumes it after each kill and finishes it.
It stops once --kills kills have landed mid-run. One line per soak says what it tried and
whether the run ended as the uninterrupted one (state hash, step rows, behaviour events);
the exit status is 1 when any did not.

    python benchmarks/soak_kills.py --kills 50
    python benchmarks/soak_kills.py --kills 50 --postgres auto --seed 7
    python benchmarks/soak_kills.py --kills 20 --case year --durability day
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from kill_soak import CASES, DURABILITIES, Reference, Soak, soak_case, uninterrupted


@contextlib.contextmanager
def databases(postgres: str | None) -> Iterator[list[tuple[str, str]]]:
    """(backend name, database URL) pairs: a SQLite file, and PostgreSQL when asked
    ("auto" starts a throwaway local server, as the tests do)."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        found = [("sqlite", str(Path(tmp) / "soak.db"))]
        if postgres == "auto":
            from pg_server import running_postgres

            found.append(("postgres", stack.enter_context(running_postgres())))
        elif postgres:
            found.append(("postgres", postgres))
        yield found


def soak(args: argparse.Namespace) -> list[Soak]:
    combos = [
        (case, durability)
        for case in CASES
        if not args.case or case.name in args.case
        for durability in case.durabilities
        if not args.durability or durability in args.durability
    ]
    if not combos:
        raise SystemExit("soak_kills: no case runs under the durabilities asked for")
    soaks: list[Soak] = []
    with databases(args.postgres) as dbs:
        references: dict[tuple[str, str], Reference] = {}
        landed = 0
        rounds = itertools.count()
        while landed < args.kills:
            round_ = next(rounds)
            for (backend, db), (case, durability) in itertools.product(dbs, combos):
                if (backend, case.name) not in references:
                    references[backend, case.name] = uninterrupted(db, case)
                    reference = references[backend, case.name]
                    print(
                        f"reference {case.name:8} {backend:8} first step committed at "
                        f"{reference.first_step:.2f} s, exit at {reference.lifetime:.2f} s",
                        flush=True,
                    )
                started = time.monotonic()
                seed = args.seed + round_
                result = soak_case(
                    db, case, durability, args.per_run, seed, references[backend, case.name]
                )
                soaks.append(result)
                landed += result.mid_run
                verdict = "same" if not result.differences else "MISMATCH"
                print(
                    f"{case.name:8} {durability:8} {backend:8} seed {seed:3}: "
                    f"{'; '.join(result.attempts)} -> {verdict} "
                    f"({time.monotonic() - started:.1f} s)",
                    flush=True,
                )
                for line in result.differences:
                    print(f"    {line}", flush=True)
                if landed >= args.kills:
                    break
    return soaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50, help="mid-run kills to land (50)")
    parser.add_argument("--per-run", type=int, default=3, help="kills tried per run (3)")
    parser.add_argument("--seed", type=int, default=0, help="first seed of the kill delays")
    parser.add_argument("--postgres", metavar="URL|auto", help="also soak on PostgreSQL")
    parser.add_argument(
        "--case", action="append", choices=[c.name for c in CASES], help="only these cases"
    )
    parser.add_argument(
        "--durability", action="append", choices=DURABILITIES, help="only these durabilities"
    )
    args = parser.parse_args(argv)
    if args.kills < 1 or args.per_run < 1:
        parser.error(f"Expected --kills and --per-run >= 1, got {args.kills} and {args.per_run}")
    soaks = soak(args)
    mismatches = [s for s in soaks if s.differences]
    print(
        f"\n{len(soaks)} runs soaked, {sum(s.kills for s in soaks)} kills "
        f"({sum(s.mid_run for s in soaks)} mid-run, the rest before the episode existed or "
        f"after it ended), {len(mismatches)} mismatch(es)"
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
