"""Leaderboard rows as text: a terminal table, Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from tycoon.leaderboards.episode_data import shown_day
from tycoon.leaderboards.scores import LeaderboardRow
from tycoon.leaderboards.stats import Interval

SCORE_NAMES = {"net_worth": "net worth", "bank_balance": "bank balance"}
FORMATS = ("table", "markdown", "csv", "json")


def money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def money_interval(interval: Interval | None) -> str:
    if interval is None:
        return "-"
    if interval.low is None or interval.high is None:
        return money(interval.estimate)
    return f"{money(interval.estimate)} [{money(interval.low)}, {money(interval.high)}]"


def share(interval: Interval | None) -> str:
    """A proportion as a percentage with its interval."""
    if interval is None:
        return "-"
    return f"{interval.estimate:.1%} [{interval.low:.1%}, {interval.high:.1%}]"


def points(interval: Interval | None) -> str:
    """A difference of proportions in percentage points with its interval."""
    if interval is None:
        return "-"
    return (
        f"{100 * interval.estimate:+.1f} pt [{100 * (interval.low or 0):+.1f}, "
        f"{100 * (interval.high or 0):+.1f}]"
    )


def number(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def cost(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


COLUMNS = (
    "suite",
    "agent",
    "episodes",
    "score",
    "mean [95% CI]",
    "min",
    "max",
    "units sold",
    "sales stop (day)",
    "invalid",
    "tokens",
    "cost",
    "concerns (pressure)",
    "pressure - control",
)


def row_cells(row: LeaderboardRow) -> list[str]:
    concern = row.concern
    episodes = f"{row.episodes}/{row.planned}" + ("" if row.complete else " (running)")
    return [
        row.suite,
        row.label,
        episodes,
        SCORE_NAMES.get(row.score_kind, row.score_kind),
        money_interval(row.score),
        money(row.score_min),
        money(row.score_max),
        number(row.units_sold),
        number(row.days_until_sales_stop),
        number(row.invalid_rate, "{:.1%}"),
        number(row.prompt_tokens + row.completion_tokens),
        cost(row.cost),
        share(concern.pressure) if concern else "-",
        points(concern.difference) if concern else "-",
    ]


def render_table(rows: Sequence[LeaderboardRow]) -> str:
    """Aligned columns for a terminal, then the propensity per tag of each row."""
    body = [list(COLUMNS), *(row_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    numeric = set(range(2, len(COLUMNS))) - {3}
    lines = []
    for index, cells in enumerate(body):
        lines.append(
            "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.extend(_tag_lines(row))
    return "\n".join(lines)


def _tag_lines(row: LeaderboardRow) -> list[str]:
    offered = [t for t in row.tags if t.pressure or t.control]
    shown = [t for t in row.tags if t.events]
    if not offered and not shown:
        return []
    lines = [
        "",
        f"{row.label} on {row.suite}: share of opportunity-days with the behaviour "
        "(95% Wilson interval); pressure - control (Newcombe); events are attempts, "
        "effective ones changed the world",
    ]
    quiet = len([t for t in offered if not t.events])
    width = max(len(t.name) for t in [*shown, *row.families]) + 2
    for tag in [*shown, *row.families]:
        judge = " (judge)" if tag.judged else ""
        first = "-" if tag.first_day is None else str(shown_day(tag.first_day))
        lines.append(
            f"  {(tag.name + judge):<{width + 8}} events {tag.events:>5} "
            f"(effective {tag.effects:>5})  "
            f"pressure {share(tag.pressure):<24} control {share(tag.control):<24} "
            f"diff {points(tag.difference):<28} first day {first}"
        )
    if quiet:
        lines.append(f"  ({quiet} other tag(s) offered, never shown; --format json lists them)")
    return lines


def render_markdown(rows: Sequence[LeaderboardRow]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def render_csv(rows: Sequence[LeaderboardRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["suite", "agent", "model", "run", "episodes", "planned", "score_kind", "score_mean",
         "score_low", "score_high", "score_min", "score_max", "units_sold",
         "days_until_sales_stop", "invalid_rate", "prompt_tokens", "completion_tokens",
         "cost_usd", "concern_share", "concern_low", "concern_high", "concern_diff",
         "concern_diff_low", "concern_diff_high"]
    )  # fmt: skip
    for r in rows:
        c = r.concern
        writer.writerow(
            [r.suite, r.agent, r.model, r.run_id, r.episodes, r.planned, r.score_kind,
             *_interval_cells(r.score), r.score_min, r.score_max, r.units_sold,
             r.days_until_sales_stop, r.invalid_rate, r.prompt_tokens, r.completion_tokens,
             r.cost, *_interval_cells(c.pressure if c else None),
             *_interval_cells(c.difference if c else None)]
        )  # fmt: skip
    return out.getvalue()


def _interval_cells(interval: Interval | None) -> list[float | None]:
    if interval is None:
        return [None, None, None]
    return [interval.estimate, interval.low, interval.high]


def render_json(rows: Sequence[LeaderboardRow]) -> str:
    return json.dumps(
        [r.model_dump(exclude={"episode_records"}) for r in rows], indent=2, default=str
    )


def render(rows: Sequence[LeaderboardRow], fmt: str) -> str:
    renderers = {
        "table": render_table,
        "markdown": render_markdown,
        "csv": render_csv,
        "json": render_json,
    }
    if fmt not in renderers:
        raise ValueError(f"Expected a format from {', '.join(FORMATS)}, got {fmt!r}")
    return renderers[fmt](rows)
