"""`tycoon dataset`: the task rows (env, scenario, seed, prompt, tools) as Parquet or JSONL."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO

from tycoon.commands.common import DEFAULT_ENV, _positive_int, output_file
from tycoon.output_files import replaced_on_success, write_atomically
from tycoon.task_rows import TaskRow, parse_seeds, tasks

PYARROW_HINT = "writing Parquet needs pyarrow: pip install 'tycoon[dataset]' (or pyarrow)"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "dataset",
        help="write the task rows (seeds x scenarios) that trainers and eval harnesses read",
        description="Write one row per (scenario, seed): env id, scenario, seed, step cap, "
        "system prompt and tool schemas. The file type follows --out: .parquet or .jsonl.",
    )
    parser.add_argument(
        "--env", default=DEFAULT_ENV, help=f"environment id (default {DEFAULT_ENV})"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=None,
        help="scenario name; repeat for several (default: the environment's own)",
    )
    parser.add_argument("--seeds", default="0-99", help="seeds, e.g. 0-999 or 0,1,5 (default 0-99)")
    parser.add_argument(
        "--max-steps", type=_positive_int, default=None, help="step cap stored per task"
    )
    parser.add_argument(
        "--out", type=output_file, required=True, help="output file: NAME.parquet or NAME.jsonl"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        if out.suffix not in (".parquet", ".jsonl"):
            raise ValueError(f"Expected --out ending in .parquet or .jsonl, got {args.out!r}")
        seeds = parse_seeds(args.seeds)
        rows = [
            row
            for scenario in args.scenario or [None]
            for row in tasks(args.env, scenario, seeds, max_steps=args.max_steps)
        ]
        if out.suffix == ".parquet":
            write_parquet(rows, out)
        else:
            write_jsonl(rows, out)
    except (ValueError, ImportError) as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} tasks to {out}")
    return 0


def write_jsonl(rows: list[TaskRow], out: Path) -> None:
    def write(handle: IO[str]) -> None:
        for row in rows:
            handle.write(json.dumps(row.record()) + "\n")

    write_atomically(out, write)


def write_parquet(rows: list[TaskRow], out: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(PYARROW_HINT) from exc
    with replaced_on_success(out) as temporary:
        pq.write_table(pa.Table.from_pylist([row.record() for row in rows]), temporary)


def read_tasks(path: str | Path) -> list[TaskRow]:
    """Task rows back from a file `tycoon dataset` wrote."""
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError(PYARROW_HINT) from exc
        records = pq.read_table(path).to_pylist()
    else:
        with path.open(encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    return [TaskRow.from_record(record) for record in records]
