"""The episode viewer: one static HTML page per episode.

Facts and charts are rendered here (inline SVG); the transcript is rendered in the
browser from inline JSON, a page of steps at a time, so an episode of thousands of steps
opens quickly."""

from __future__ import annotations

from html import escape

from tycoon.leaderboards.episode_data import EpisodeView
from tycoon.leaderboards.html import json_block, page
from tycoon.leaderboards.svg import PALETTE, Series, line_chart
from tycoon.summary import EpisodeSummary

SCORE_NAMES = {"net_worth": "net worth", "bank_balance": "bank balance"}


def episode_page(view: EpisodeView, *, back: str | None = None) -> str:
    s = view.summary
    header = (
        (f'<a href="{escape(back)}">&larr; leaderboard</a>' if back else "")
        + f"<h1>Episode {s.episode_id}</h1>"
        f'<span class="sub">{escape(s.env_id)} · scenario {escape(s.scenario)} · agent '
        f"{escape(s.agent or '-')}"
        + (f" · model {escape(s.model)}" if s.model else "")
        + f" · seed {s.seed}</span>"
    )
    body = (
        _facts(view) + _charts(view) + _behaviour(view) + '<section class="card"><div class="tabs">'
        '<button class="active" data-tab="transcript-tab">Transcript</button>'
        '<button data-tab="nights-tab">Night reports</button></div>'
        '<div class="tab active" id="transcript-tab"><div class="toolbar">'
        '<select id="tool-filter"><option value="">all tools</option></select>'
        '<label><input type="checkbox" id="invalid-only"> invalid only</label>'
        '<input id="text-filter" type="search" placeholder="search text, arguments, model text" style="width:22em">'
        '<input id="goto" type="number" min="1" placeholder="go to step #" style="width:9em">'
        '<button id="prev">&larr; previous</button><span id="page-info" class="muted"></span>'
        '<button id="next">next &rarr;</button></div><div id="transcript"></div></div>'
        '<div class="tab" id="nights-tab"><p class="lede">What happened overnight, as the '
        'agent read it after each <code>wait_for_next_day</code>.</p><div id="nights"></div>'
        "</div></section>"
        + json_block("episode-data", {"steps": [st.model_dump() for st in view.steps]})
    )
    return page(f"Episode {s.episode_id}: {s.env_id}", header, body, scripts=("viewer.js",))


def _facts(view: EpisodeView) -> str:
    s: EpisodeSummary = view.summary
    score = s.net_worth if view.score_kind == "net_worth" else s.bank_balance
    calls = [c for st in view.steps for c in st.calls] + view.pending_calls
    tokens = sum(c.prompt_tokens + c.completion_tokens for c in calls)
    retried = sum(1 for c in calls if c.attempts > 1)
    unparsed = sum(1 for c in calls if c.parse_status != "ok")
    facts = [
        ("score", f"${score:,.2f} ({SCORE_NAMES.get(view.score_kind, view.score_kind)})"),
        ("status", s.status),
        ("days", f"{s.days}"),
        ("steps", f"{s.steps:,}"),
        ("net worth", f"${s.net_worth:,.2f}"),
        ("bank balance", f"${s.bank_balance:,.2f}"),
        ("units sold", f"{s.units_sold:,} (revenue ${s.revenue:,.2f})"),
        ("invalid actions", f"{s.invalid_actions:,}"),
    ]
    if calls:
        facts.append(
            ("model calls", f"{len(calls):,} ({tokens:,} tokens; {retried} retried; "
             f"{unparsed} not parsed cleanly)")
        )  # fmt: skip
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<section class="card"><h2>Summary</h2><dl class="facts">{items}</dl></section>'


def _charts(view: EpisodeView) -> str:
    days = view.days
    money = line_chart(
        [
            Series("net worth", [(d.day, d.net_worth) for d in days], PALETTE[0]),
            Series("bank", [(d.day, d.bank) for d in days], PALETTE[2]),
            Series("machine cash", [(d.day, d.machine_cash) for d in days], PALETTE[1]),
            Series("stock at cost", [(d.day, d.stock_value) for d in days], PALETTE[3]),
        ],
        title="Money by day",
        y_label="US dollars",
        chart_id="money-chart",
    )
    units = line_chart(
        [Series("units sold", [(d.day, d.units_sold) for d in days], PALETTE[4])],
        title="Units sold per day",
        y_label="units",
        y_format=lambda v: f"{v:,.0f}",
        chart_id="units-chart",
        y_top_at_least=5,
    )
    return f'<section class="card"><div class="grid2">{money}{units}</div></section>'


def _behaviour(view: EpisodeView) -> str:
    if not view.events:
        note = (
            "No behaviour events were recorded in this episode."
            if view.summary.scenario == "default"
            else f"No behaviour observed (scenario {escape(view.summary.scenario)})."
        )
        return f'<section class="card"><h2>Behaviour</h2><p class="muted">{note}</p></section>'
    rows = "".join(
        f'<tr><td class="num">{e.day}</td><td><a href="#step-{e.step}">#{e.step}</a></td>'
        f"<td>{escape(e.tag)}</td><td>{escape(e.detector)}</td>"
        f'<td class="num">{e.magnitude:g}</td><td class="evidence"><pre>{escape(e.evidence)}</pre>'
        + (
            f'<div class="label">judge reasoning</div><pre class="model">'
            f"{escape(e.judge_reasoning)}</pre>"
            if e.judge_reasoning
            else ""
        )
        + "</td></tr>"
        for e in view.events[:2000]
    )
    more = (
        f'<p class="note">Showing the first 2,000 of {len(view.events):,} events.</p>'
        if len(view.events) > 2000
        else ""
    )
    return (
        '<section class="card"><h2>Behaviour</h2>'
        + _timeline(view)
        + '<div class="event-scroll"><table class="event-list"><thead><tr><th class="num">day</th><th>step</th>'
        '<th>tag</th><th>detector</th><th class="num">magnitude</th><th>evidence</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></div>{more}</section>"
    )


def _timeline(view: EpisodeView) -> str:
    """A row per tag, a mark per event, across the episode's days."""
    tags = list(dict.fromkeys(e.tag for e in view.events))
    last_day = max([d.day for d in view.days] + [e.day for e in view.events] + [1])
    width, left, row = 980, 250, 18
    height = 30 + row * len(tags)
    parts = []
    for index, tag in enumerate(tags):
        y = 22 + row * index
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{escape(tag)}</text>'
            f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y}" y2="{y}"/>'
        )
        seen = set()
        for event in view.events:
            if event.tag != tag or (event.day, event.step) in seen:
                continue
            seen.add((event.day, event.step))
            x = left + (event.day - 1) / max(last_day - 1, 1) * (width - left - 10)
            parts.append(
                f'<a href="#step-{event.step}"><circle class="pt" cx="{x:.1f}" cy="{y}" r="4" '
                f'fill="{color}" opacity=".8"><title>{escape(tag)}: day {event.day}, step '
                f"{event.step}</title></circle></a>"
            )
    parts.append(
        f'<text x="{left}" y="12">day 1</text>'
        f'<text x="{width - 10}" y="12" text-anchor="end">day {last_day}</text>'
    )
    return (
        f'<svg class="chart" id="behaviour-timeline" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
