"""The static leaderboard site: DIR/index.html and DIR/episodes/episode-N.html.

Every page is self-contained (inline CSS, JS, SVG and data), so the folder can be opened
from file://, copied or attached anywhere, with no server and no network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from sqlalchemy.engine import make_url

from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.arena import ArenaBoard
from tycoon.leaderboards.arena_site import arena_card, write_arena_pages
from tycoon.leaderboards.episode_data import load_episode_view, shown_day
from tycoon.leaderboards.html import page
from tycoon.leaderboards.scores import LeaderboardRow, Propensity
from tycoon.leaderboards.stats import Interval
from tycoon.leaderboards.suite import Suite, SuiteError, load_suite
from tycoon.leaderboards.svg import PALETTE, ScatterPoint, Series, line_chart, scatter
from tycoon.leaderboards.tables import (
    SCORE_NAMES,
    cost,
    judge_failures,
    money,
    number,
    points,
    share,
)
from tycoon.leaderboards.viewer import episode_page
from tycoon.output_files import write_text_atomically

SUITE_ORDER = ("vb2", "vb1", "probes")
CAPABILITY_SUITES = ("vb2", "vb1")
PROPENSITY_SUITE = "probes"


def episode_file(episode_id: int) -> str:
    return f"episodes/episode-{episode_id}.html"


def write_site(
    store: WorldStore,
    rows: Sequence[LeaderboardRow],
    out: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    boards: Sequence[ArenaBoard] = (),
) -> Path:
    """Write the episode pages, the arena runs' pages and the index; returns the index's
    path."""
    (out / "episodes").mkdir(parents=True, exist_ok=True)
    daily = _write_episodes(store, rows, out, progress)
    write_arena_pages(store, boards, out, episode_file=episode_file)
    database = make_url(store.url).render_as_string(hide_password=True)
    index = out / "index.html"
    write_text_atomically(index, index_page(rows, daily, database, boards))
    return index


def _write_episodes(store, rows, out, progress) -> dict[int, list[tuple[int, float]]]:
    """Each episode's page; returns each run's mean score by day (for the chart)."""
    total = sum(len(r.episode_records) for r in rows)
    done = 0
    means: dict[int, list[tuple[int, float]]] = {}
    for row in rows:
        by_day: dict[int, list[float]] = defaultdict(list)
        for record in row.episode_records:
            view = load_episode_view(store, record.episode_id)
            path = out / episode_file(record.episode_id)
            write_text_atomically(path, episode_page(view, back="../index.html"))
            for point in view.days:
                value = point.net_worth if view.score_kind == "net_worth" else point.bank
                by_day[point.day].append(value)
            done += 1
            if progress is not None:
                progress(done, total)
        means[row.run_id] = [(day, sum(v) / len(v)) for day, v in sorted(by_day.items())]
    return means


def index_page(
    rows: Sequence[LeaderboardRow],
    daily: dict[int, list[tuple[int, float]]],
    database: str,
    boards: Sequence[ArenaBoard] = (),
) -> str:
    by_suite: dict[str, list[LeaderboardRow]] = defaultdict(list)
    for row in rows:
        by_suite[row.suite].append(row)
    order = [s for s in SUITE_ORDER if s in by_suite] + sorted(set(by_suite) - set(SUITE_ORDER))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        "<h1>tycoon leaderboard</h1>"
        f'<span class="sub">capability beside propensity, with 95% intervals · '
        f"{escape(database)} · generated {generated}</span>"
    )
    body = ""
    if not order and not boards:
        body += (
            '<section class="card"><h2>No eval runs yet</h2><p class="lede">Run a suite first, '
            "e.g. <code>tycoon eval vb2 --agent baseline</code>.</p></section>"
        )
    for name in [n for n in order if n in CAPABILITY_SUITES]:
        body += _suite_card(name, by_suite[name], daily)
    if order or not boards:  # an arena alone has no capability x propensity to plot
        body += _scatter_card(by_suite)
    for name in [n for n in order if n not in CAPABILITY_SUITES]:
        body += _suite_card(name, by_suite[name], daily)
    body += arena_card(boards)
    body += _how_to_read()
    return page("tycoon leaderboard", header, body, scripts=("table.js",))


def _how_to_read() -> str:
    return (
        '<section class="card"><h2>How to read this</h2><p class="lede">'
        "<b>Score</b> is each environment's own: net worth (cash, machine cash and stock at "
        "cost) for the Vending-Bench 1 rules, the final bank balance for the one-year "
        "Vending-Bench 2 style suite; every agent starts with $500. The mean is over the "
        "suite's seeds, with a 95% bootstrap interval; min and max are single episodes. "
        "<b>Days until sales stop</b>: the last day with a sale. "
        "<b>Propensity</b> is the share of opportunity-days (days on which a probe offered "
        "the behaviour) on which the agent showed it, with a 95% Wilson interval, under "
        "pressure and in the control scenario, and pressure minus control (Newcombe "
        'interval). Rows marked <span class="badge pub">published, not run here</span> '
        "are figures from the cited source, for orientation only: different simulator, "
        "same rules.</p></section>"
    )


def _suite_title(name: str) -> tuple[str, Suite | None]:
    try:
        suite = load_suite(name)
    except SuiteError:
        return name, None
    return f"{suite.title} ({name})", suite


def _suite_card(name: str, rows: list[LeaderboardRow], daily: dict) -> str:
    title, suite = _suite_title(name)
    ranked = sorted(rows, key=lambda r: -(r.score.estimate if r.score else float("-inf")))
    lede = ""
    if suite is not None:
        limits = ", ".join(
            x
            for x in (
                f"{suite.max_days} days" if suite.max_days else "",
                f"{suite.max_steps} steps" if suite.max_steps else "",
            )
            if x
        )
        lede = (
            f'<p class="lede">{escape(suite.env)} · {len(suite.scenarios)} scenario(s) · '
            f"seeds {', '.join(map(str, suite.seeds))}"
            + (f" · {limits}" if limits else "")
            + "</p>"
        )
    body = f'<section class="card" id="suite-{escape(name)}"><h2>{escape(title)}</h2>{lede}'
    body += _leaderboard_table(name, ranked, suite)
    if suite is not None and suite.published:
        body += (
            f'<div class="source">Published rows: source: {escape(suite.published.source)}. '
            "Not run here.</div>"
        )
    if any(daily.get(r.run_id) for r in ranked) and name != PROPENSITY_SUITE:
        kind = SCORE_NAMES.get(ranked[0].score_kind, "score")
        chart = line_chart(
            [
                Series(r.label, daily.get(r.run_id, []), PALETTE[i % len(PALETTE)], markers=True)
                for i, r in enumerate(ranked)
            ],
            title=f"Mean {kind} by day",
            y_label="US dollars",
            width=900,
            height=300,
            chart_id=f"money-{name}",
        )
        body += f"<h3>Money over time</h3>{chart}"
    body += "".join(_propensity_table(r) for r in ranked if r.tags)
    return body + "</section>"


def _leaderboard_table(name: str, rows: list[LeaderboardRow], suite: Suite | None) -> str:
    kind = SCORE_NAMES.get(rows[0].score_kind, "score") if rows else "score"
    published = suite.published.rows if suite and suite.published else []
    values = [v for r in rows if r.score for v in (r.score.low, r.score.high, r.score.estimate)]
    values += [p.score_mean for p in published]
    known = [v for v in values if v is not None]
    span = (min([0.0, *known]), max([1.0, *known]))
    with_concern = any(r.concern for r in rows)
    headers = [
        '<th class="rank">#</th>', '<th class="sortable">agent</th>',
        '<th class="sortable num">episodes</th>',
        f'<th class="sortable num">mean {escape(kind)}</th>', "<th>95% interval</th>",
        '<th class="sortable num">min</th>', '<th class="sortable num">max</th>',
        '<th class="sortable num">units sold</th>',
        '<th class="sortable num">days until sales stop</th>',
        '<th class="sortable num">invalid actions</th>', '<th class="sortable num">tokens</th>',
        '<th class="sortable num">cost</th>',
    ]  # fmt: skip
    if with_concern:
        headers.append('<th class="sortable num">concerning behaviour</th>')
    headers.append("<th>episodes</th>")
    body = "".join(
        _run_row(rank, row, span, with_concern) for rank, row in enumerate(rows, start=1)
    )
    body += "".join(_published_row(item, span, with_concern) for item in published)
    table = (
        f'<table class="sortable leaderboard" id="table-{escape(name)}"><thead><tr>'
        f"{''.join(headers)}</tr></thead><tbody>{body}</tbody></table>"
    )
    note = (
        '<p class="note">* runs per model as the source reports them. The source publishes no '
        "intervals.</p>"
        if published
        else ""
    )
    return f'<div class="scroll">{table}</div>{note}'


def _cell(text: str, sort: float | str | None = None) -> str:
    key = sort if isinstance(sort, str) else _sort(sort)
    return f'<td class="num" data-sort="{key}">{text}</td>'


def _run_row(rank: int, row: LeaderboardRow, span, with_concern: bool) -> str:
    status = "" if row.complete else ' <span class="badge warn">incomplete</span>'
    stop = number(row.days_until_sales_stop) + (
        f' <span class="ci">of {number(row.days)}</span>' if row.days is not None else ""
    )
    tokens = row.prompt_tokens + row.completion_tokens
    cells = [
        f'<td class="rank">{rank}</td>',
        f'<td class="agent">{escape(row.label)}{status}</td>',
        _cell(f"{row.episodes}/{row.planned}", row.episodes),
        _score_cells(row.score, span),
        _cell(money(row.score_min), row.score_min),
        _cell(money(row.score_max), row.score_max),
        _cell(number(row.units_sold), row.units_sold),
        _cell(stop, row.days_until_sales_stop),
        _cell(number(row.invalid_rate, "{:.1%}"), row.invalid_rate),
        _cell(number(tokens), tokens),
        _cell(cost(row.cost), row.cost),
    ]
    if with_concern:
        concern = row.concern
        pressure = concern.pressure if concern else None
        cells.append(_cell(share(pressure), pressure.estimate if pressure else None))
    cells.append(f"<td>{_episode_links(row)}</td>")
    return f'<tr class="run" data-agent="{escape(row.label)}">{"".join(cells)}</tr>'


def _published_row(item, span, with_concern: bool) -> str:
    cells = [
        '<td class="rank"></td>',
        f'<td class="agent">{escape(item.name)} <span class="badge pub">published, not run '
        "here</span></td>",
        _cell("5*", ""),
        _score_cells(Interval(estimate=item.score_mean, low=None, high=None, n=0), span),
        _cell(money(item.score_min), item.score_min),
        _cell("-", ""),
        _cell(number(item.units_sold), item.units_sold),
        _cell(number(item.days_until_sales_stop), item.days_until_sales_stop),
        *[_cell("-", "")] * (4 if with_concern else 3),
        "<td></td>",
    ]
    return f'<tr class="published">{"".join(cells)}</tr>'


def _sort(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _score_cells(score: Interval | None, span: tuple[float, float]) -> str:
    if score is None:
        return '<td class="num" data-sort="">-</td><td></td>'
    low, high = span
    width = (high - low) or 1.0

    def at(value: float) -> float:
        return max(0.0, min(100.0, (value - low) / width * 100))

    bar = '<span class="bar">'
    if score.low is not None and score.high is not None:
        bar += f'<i style="left:{at(score.low):.1f}%;width:{max(at(score.high) - at(score.low), 0.8):.1f}%"></i>'
        text = f"{money(score.low)} – {money(score.high)}"
    else:
        text = "not published" if score.n == 0 else "one episode"
    bar += f'<b style="left:{at(score.estimate):.1f}%"></b></span>'
    return (
        f'<td class="num score" data-sort="{score.estimate:.6g}">{money(score.estimate)}</td>'
        f'<td class="interval">{bar}<span class="ci">{text}</span></td>'
    )


def _episode_links(row: LeaderboardRow) -> str:
    links = [
        f'<a href="{episode_file(r.episode_id)}" title="episode {r.episode_id}, '
        f'{escape(r.scenario)}, seed {r.seed}">'
        + (f"{escape(r.scenario)}/" if r.scenario != "default" else "")
        + f"s{r.seed}</a>"
        for r in sorted(row.episode_records, key=lambda r: (r.scenario, r.seed))
    ]
    if len(links) <= 6:
        return f'<span class="eplinks">{"".join(links)}</span>'
    return (
        f'<details><summary>{len(links)} episodes</summary><span class="eplinks">'
        f"{' '.join(links)}</span></details>"
    )


def _propensity_table(row: LeaderboardRow) -> str:
    parts: list[Propensity] = [
        t
        for t in row.tags
        if t.events or t.pressure or t.control or (t.judge is not None and t.judge.requests)
    ]
    if not parts:
        return ""
    lines = "".join(_propensity_line(p) for p in [*parts, *row.families])
    judged = any(p.judged for p in parts)
    return (
        f"<h3>Propensity: {escape(row.label)}</h3>"
        '<table class="sortable propensity"><thead><tr><th class="sortable">tag / family</th>'
        '<th class="sortable num">events</th><th class="sortable num">under pressure</th>'
        '<th class="sortable num">control</th><th class="sortable num">pressure − control</th>'
        '<th class="sortable num">first day</th>'
        '<th class="sortable num">judge failures</th></tr></thead><tbody>'
        + lines
        + "</tbody></table>"
        + (
            '<p class="note">(judge): tags scored by the LLM judge. "judge failures" is the '
            "share of the judge's requests for the tag that got no usable verdict (no answer "
            "from the server, or one that did not parse): a judge that failed often can hide "
            "the behaviour.</p>"
            if judged
            else ""
        )
    )


def _propensity_line(p: Propensity) -> str:
    family = p.name == p.family or p.family == "all"
    name = f"<b>{escape(p.name)}</b>" if family else escape(p.name)
    first = "-" if p.first_day is None else str(shown_day(p.first_day))
    judge = ' <span class="badge">judge</span>' if p.judged else ""
    judge_rate = p.judge.rate if p.judge is not None else None
    return (
        f"<tr><td>{name}{judge}</td>"
        f'<td class="num">{p.events:,}</td>'
        f'<td class="num" data-sort="{_sort(p.pressure.estimate if p.pressure else None)}">'
        f"{share(p.pressure)}</td>"
        f'<td class="num" data-sort="{_sort(p.control.estimate if p.control else None)}">'
        f"{share(p.control)}</td>"
        f'<td class="num" data-sort="{_sort(p.difference.estimate if p.difference else None)}">'
        f"{points(p.difference)}</td>"
        f'<td class="num" data-sort="{first if first != "-" else ""}">{first}</td>'
        f'<td class="num judge-failures" data-sort="{_sort(judge_rate)}">'
        f"{escape(judge_failures(p.judge))}</td></tr>"
    )


def _scatter_card(by_suite: dict[str, list[LeaderboardRow]]) -> str:
    capability_suite = next((s for s in CAPABILITY_SUITES if s in by_suite), None)
    propensity_rows = {
        (r.agent, r.model): r for r in by_suite.get(PROPENSITY_SUITE, []) if r.concern
    }
    dots = []
    missing = []
    for row in by_suite.get(capability_suite, []) if capability_suite else []:
        other = propensity_rows.get((row.agent, row.model))
        concern = other.concern if other else None
        if row.score is None or concern is None or concern.pressure is None:
            missing.append(row.label)
            continue
        dots.append(
            ScatterPoint(
                label=row.label,
                x=row.score.estimate,
                y=concern.pressure.estimate,
                x_interval=(row.score.low, row.score.high) if row.score.low is not None else None,
                y_interval=(concern.pressure.low or 0.0, concern.pressure.high or 0.0),
            )
        )
    kind = (
        SCORE_NAMES.get(by_suite[capability_suite][0].score_kind, "score")
        if capability_suite
        else "score"
    )
    chart = scatter(
        dots,
        title="Capability × propensity",
        x_label=f"mean {kind} ({capability_suite or 'no capability suite run'})",
        y_label="concerning behaviour (share of days)",
        width=900,
        height=300,
        chart_id="scatter",
    )
    note = (
        f'<p class="note">Not placed (needs both a {escape(capability_suite or "vb2")} and a '
        f"probes run): {escape(', '.join(missing))}. Run <code>tycoon eval probes --agent "
        "...</code> to add them.</p>"
        if missing
        else ""
    )
    return (
        '<section class="card"><h2>Capability beside propensity</h2><p class="lede">Right is '
        "more money; up is more instrumental behaviour when the probes offer it. Whiskers: "
        f"95% intervals.</p>{chart}{note}</section>"
    )
