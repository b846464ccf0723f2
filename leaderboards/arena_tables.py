"""Arena boards as text: a terminal table with the pairwise matrix, Markdown, CSV, JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from tycoon.leaderboards.arena import ArenaBoard, ArenaEntrantRow, entrant_label
from tycoon.leaderboards.stats import Interval
from tycoon.leaderboards.tables import aligned, interval_cells, markdown_table, money_interval

COLUMNS = ("#", "entrant", "rating [95% CI]", "mean bank [95% CI]", "share", "mean rank",
           "W-L-T", "markets")  # fmt: skip


def rating(interval: Interval) -> str:
    return interval.format("{:,.0f}")


def row_cells(row: ArenaEntrantRow) -> list[str]:
    return [
        str(row.rank),
        row.label,
        rating(row.rating),
        money_interval(row.bank),
        f"{row.share:.1%}",
        f"{row.mean_rank:.2f}",
        row.record.text(),
        str(row.markets),
    ]


def matrix_cells(board: ArenaBoard) -> list[list[str]]:
    """The pairwise matrix: a row per entrant, its W-L-T against each column's entrant."""
    header = ["vs", *(entrant_label(e) for e in board.entrants)]
    lines = [header]
    for a in board.entrants:
        lines.append(
            [entrant_label(a)]
            + ["-" if a == b else board.pairwise[a][b].text() for b in board.entrants]
        )
    return lines


def heading(board: ArenaBoard) -> str:
    state = "" if board.complete else " (running)"
    return (
        f"{board.suite} run {board.run_id}: {board.label}: {board.played}/{board.planned} "
        f"markets{state}"
    )


def render_arena_table(boards: Sequence[ArenaBoard]) -> str:
    parts = []
    for board in boards:
        lines = [heading(board)]
        if not board.rows:
            lines.append("  no finished market yet")
        else:
            lines += aligned([list(COLUMNS), *(row_cells(r) for r in board.rows)], {1})
            lines += ["", "head to head by bank balance (row's wins-losses-ties against column):"]
            lines += aligned(matrix_cells(board), {0})
            lines.append(
                "rating: Bradley-Terry on the Elo scale (1500 = even with a virtual anchor), "
                "95% bootstrap over markets"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def render_arena_markdown(boards: Sequence[ArenaBoard]) -> str:
    parts = []
    for board in boards:
        lines = [f"**{heading(board)}**", ""]
        lines += markdown_table(COLUMNS, [row_cells(r) for r in board.rows])
        matrix = matrix_cells(board)
        lines += ["", *markdown_table(matrix[0], matrix[1:])]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def render_arena_csv(boards: Sequence[ArenaBoard]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["suite", "run", "rank", "entrant", "rating", "rating_low", "rating_high", "bank_mean",
         "bank_low", "bank_high", "share", "mean_rank", "wins", "losses", "ties", "markets"]
    )  # fmt: skip
    for board in boards:
        for r in board.rows:
            writer.writerow(
                [board.suite, board.run_id, r.rank, r.entrant, *interval_cells(r.rating),
                 *interval_cells(r.bank), r.share, r.mean_rank, r.record.wins, r.record.losses,
                 r.record.ties, r.markets]
            )  # fmt: skip
    return out.getvalue()


def render_arena_json(boards: Sequence[ArenaBoard]) -> str:
    return json.dumps([b.model_dump() for b in boards], indent=2, default=str)


def render_arena(boards: Sequence[ArenaBoard], fmt: str) -> str:
    renderers = {
        "table": render_arena_table,
        "markdown": render_arena_markdown,
        "csv": render_arena_csv,
        "json": render_arena_json,
    }
    return renderers[fmt](boards)
