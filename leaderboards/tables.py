"""Leaderboard rows as text: a terminal table, Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from tycoon.leaderboards.episode_data import shown_day
from tycoon.leaderboards.scores import JudgeFailures, LeaderboardRow, Propensity
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


def judge_failures(judge: JudgeFailures | None) -> str:
    """The judge's failure rate for a tag: failed of all requests."""
    if judge is None:
        return "-"
    if not judge.requests:
        return "no judge verdicts recorded"
    return f"judge failed {judge.failed:,}/{judge.requests:,} ({judge.rate:.1%})"


def listed_tags(row: LeaderboardRow) -> list[Propensity]:
    """The tags worth a line: shown, or asked of the judge (its failures can hide one)."""
    return [t for t in row.tags if t.events or (t.judge is not None and t.judge.requests)]


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


def aligned(lines: Sequence[Sequence[str]], left: set[int]) -> list[str]:
    """A header line and rows as aligned columns for a terminal, the header ruled off;
    the columns in `left` aligned left, the others (numbers) right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for index, cells in enumerate(lines):
        out.append(
            "  ".join(
                c.ljust(w) if i in left else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def render_table(rows: Sequence[LeaderboardRow]) -> str:
    """Aligned columns for a terminal, then the propensity per tag of each row."""
    # suite, agent and score name read left; the figures right
    lines = aligned([list(COLUMNS), *(row_cells(r) for r in rows)], {0, 1, 3})
    for row in rows:
        lines.extend(_tag_lines(row))
    return "\n".join(lines)


def _tag_lines(row: LeaderboardRow) -> list[str]:
    offered = [t for t in row.tags if t.pressure or t.control]
    shown = listed_tags(row)
    if not offered and not shown:
        return []
    lines = [
        "",
        f"{row.label} on {row.suite}: share of opportunity-days with the behaviour "
        "(95% Wilson interval); pressure - control (Newcombe); events are attempts, "
        "effective ones changed the world; the judge's failures",
    ]
    quiet = len([t for t in offered if t not in shown])
    unjudged = len([t for t in offered if t not in shown and t.judge is not None])
    width = max(len(t.name) for t in [*shown, *row.families]) + 2
    for tag in [*shown, *row.families]:
        judge = " (judge)" if tag.judged else ""
        first = "-" if tag.first_day is None else str(shown_day(tag.first_day))
        lines.append(
            (
                f"  {(tag.name + judge):<{width + 8}} events {tag.events:>5} "
                f"(effective {tag.effects:>5})  "
                f"pressure {share(tag.pressure):<24} control {share(tag.control):<24} "
                f"diff {points(tag.difference):<28} first day {first:<4}"
                + (f" {judge_failures(tag.judge)}" if tag.judge is not None else "")
            ).rstrip()
        )
    if quiet:
        lines.append(f"  ({quiet} other tag(s) offered, never shown; --format json lists them)")
    if unjudged:
        lines.append(f"  ({unjudged} of them judged tag(s) with no judge verdicts recorded)")
    return lines


def render_markdown(rows: Sequence[LeaderboardRow]) -> str:
    lines = markdown_table(COLUMNS, [row_cells(r) for r in rows])
    judged = [(r, t) for r in rows for t in listed_tags(r) if t.judge is not None]
    if judged:
        lines += ["", "Tags scored by the LLM judge, with the judge's failure rate:", ""]
        lines += markdown_table(
            ("suite", "agent", "tag", "events", "pressure", "control", "judge failures"),
            [
                [r.suite, r.label, t.name, str(t.events), share(t.pressure), share(t.control),
                 judge_failures(t.judge)]
                for r, t in judged
            ],
        )  # fmt: skip
    return "\n".join(lines)


def render_csv(rows: Sequence[LeaderboardRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["suite", "agent", "model", "run", "episodes", "planned", "score_kind", "score_mean",
         "score_low", "score_high", "score_min", "score_max", "units_sold",
         "days_until_sales_stop", "invalid_rate", "prompt_tokens", "completion_tokens",
         "cost_usd", "concern_share", "concern_low", "concern_high", "concern_diff",
         "concern_diff_low", "concern_diff_high", "judge_requests", "judge_failed",
         "judge_failures_by_tag"]
    )  # fmt: skip
    for r in rows:
        c = r.concern
        writer.writerow(
            [r.suite, r.agent, r.model, r.run_id, r.episodes, r.planned, r.score_kind,
             *interval_cells(r.score), r.score_min, r.score_max, r.units_sold,
             r.days_until_sales_stop, r.invalid_rate, r.prompt_tokens, r.completion_tokens,
             r.cost, *interval_cells(c.pressure if c else None),
             *interval_cells(c.difference if c else None), *_judge_cells(r)]
        )  # fmt: skip
    return out.getvalue()


def _judge_cells(row: LeaderboardRow) -> list[int | str | None]:
    """The judge's requests and failures over the row's judged tags, and per tag
    ("tag failed/requests; ..."); empty when no tag of the row is judged."""
    judged = [t for t in row.tags if t.judge is not None]
    if not judged:
        return [None, None, ""]
    by_tag = "; ".join(f"{t.name} {t.judge.failed}/{t.judge.requests}" for t in judged if t.judge)
    return [
        sum(t.judge.requests for t in judged if t.judge),
        sum(t.judge.failed for t in judged if t.judge),
        by_tag,
    ]


def interval_cells(interval: Interval | None) -> list[float | None]:
    """An interval's estimate, low and high (CSV cells; None for a missing interval)."""
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
