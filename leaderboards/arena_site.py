"""The arena's pages of the static site: a card on the index per arena run, and a page per
run (DIR/arena/run-N.html) with the ranked entrants, the pairwise win matrix and every
market (its seats and their bank balances, linked to the operators' episode pages).

Self-contained like every page of the site (inline CSS and JS, no request leaves it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.arena import ArenaBoard, entrant_label
from tycoon.leaderboards.arena_tables import rating
from tycoon.leaderboards.episode_data import load_episode_view
from tycoon.leaderboards.html import page
from tycoon.leaderboards.tables import money, money_interval
from tycoon.leaderboards.viewer import episode_page
from tycoon.output_files import write_text_atomically

MATRIX_STYLE = (
    "<style>table.matrix{width:auto}"
    "table.matrix td.cell{text-align:center;min-width:7em;font-variant-numeric:tabular-nums}"
    "table.matrix td.self{background:#f0f1f4;color:#9aa3b2}"
    "table.matrix th.row{text-align:left}</style>"
)


def arena_file(run_id: int) -> str:
    return f"arena/run-{run_id}.html"


def write_arena_pages(
    store: WorldStore,
    boards: Sequence[ArenaBoard],
    out: Path,
    *,
    episode_file: Callable[[int], str],
) -> None:
    """Each run's page and its operators' episode pages."""
    if not boards:
        return
    (out / "arena").mkdir(parents=True, exist_ok=True)
    (out / "episodes").mkdir(parents=True, exist_ok=True)
    for board in boards:
        write_text_atomically(out / arena_file(board.run_id), arena_page(board, episode_file))
        for market in board.markets:
            for episode_id in market.episode_ids:
                view = load_episode_view(store, episode_id)
                page_text = episode_page(view, back=f"../{arena_file(board.run_id)}")
                write_text_atomically(out / episode_file(episode_id), page_text)


def arena_card(boards: Sequence[ArenaBoard]) -> str:
    """The index's card: each arena run's top entrants and a link to its page."""
    if not boards:
        return ""
    body = (
        '<section class="card" id="suite-arena"><h2>VendingArena: entrants head to head</h2>'
        '<p class="lede">Entrants meet in one market, every pair in both seat orders on '
        "every seed; a Bradley-Terry rating from wins by bank balance.</p>"
    )
    for board in boards:
        leaders = ", ".join(
            f"{row.rank}. {escape(row.label)} ({rating(row.rating)})" for row in board.rows[:4]
        )
        body += (
            f'<p><a class="arena-run" href="{arena_file(board.run_id)}">'
            f"{escape(board.label)}</a> · {board.played}/{board.planned} markets"
            + ("" if board.complete else ' <span class="badge warn">incomplete</span>')
            + (f'<br><span class="muted">{leaders}</span>' if leaders else "")
            + "</p>"
        )
    return body + "</section>"


def arena_page(board: ArenaBoard, episode_file: Callable[[int], str]) -> str:
    header = (
        '<a href="../index.html">&larr; leaderboard</a>'
        f"<h1>Arena run {board.run_id}</h1>"
        f'<span class="sub">{escape(board.label)} · {board.played}/{board.planned} markets · '
        f"seeds {', '.join(map(str, board.seeds))}</span>"
    )
    body = (
        MATRIX_STYLE
        + '<section class="card"><h2>Entrants</h2><p class="lede">Rating: Bradley-Terry on '
        "the Elo scale from wins by final bank balance (a tie is half a win), each entrant "
        "with one virtual tied game against an anchor of 1500 so a clean sweep stays finite; "
        "95% bootstrap interval over markets. Mean bank with a 95% bootstrap interval; "
        "share of the market's revenue; rank within the market (1 = richest).</p>"
        + _entrant_table(board)
        + "</section>"
        + '<section class="card"><h2>Head to head</h2><p class="lede">Row against column: '
        "wins-losses-ties by final bank balance in the markets they shared. The colour is "
        "the row's share of those games won (ties half).</p>"
        + _matrix(board)
        + "</section>"
        + '<section class="card"><h2>Markets</h2>'
        + _markets(board, episode_file)
        + "</section>"
    )
    return page(f"arena run {board.run_id}", header, body, scripts=("table.js",))


def _entrant_table(board: ArenaBoard) -> str:
    if not board.rows:
        return '<p class="muted">No finished market yet.</p>'
    head = (
        '<tr><th class="rank">#</th><th class="sortable">entrant</th>'
        '<th class="sortable num">rating</th><th>95% interval</th>'
        '<th class="sortable num">mean bank</th><th class="sortable num">share</th>'
        '<th class="sortable num">mean rank</th><th class="sortable num">W-L-T</th>'
        '<th class="sortable num">markets</th></tr>'
    )
    rows = "".join(
        f'<tr class="entrant" data-entrant="{escape(r.entrant)}"><td class="rank">{r.rank}</td>'
        f'<td class="agent">{escape(r.label)}</td>'
        f'<td class="num rating" data-sort="{r.rating.estimate:.6g}">{r.rating.estimate:,.0f}</td>'
        f'<td class="ci">{_bounds(r.rating.low, r.rating.high)}</td>'
        f'<td class="num" data-sort="{r.bank.estimate:.6g}">{money_interval(r.bank)}</td>'
        f'<td class="num" data-sort="{r.share:.6g}">{r.share:.1%}</td>'
        f'<td class="num">{r.mean_rank:.2f}</td>'
        f'<td class="num record" data-sort="{r.record.wins}">{r.record.text()}</td>'
        f'<td class="num">{r.markets}</td></tr>'
        for r in board.rows
    )
    return (
        f'<div class="scroll"><table class="sortable leaderboard" id="arena-table">'
        f"<thead>{head}</thead><tbody>{rows}</tbody></table></div>"
    )


def _bounds(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "one market"
    return f"{low:,.0f} – {high:,.0f}"


def _matrix(board: ArenaBoard) -> str:
    head = "<tr><th>row vs column</th>" + "".join(
        f'<th class="num">{escape(entrant_label(e))}</th>' for e in board.entrants
    )
    lines = []
    for a in board.entrants:
        cells = [f'<th class="row">{escape(entrant_label(a))}</th>']
        for b in board.entrants:
            if a == b:
                cells.append('<td class="cell self">–</td>')
                continue
            record = board.pairwise[a][b]
            games = record.games
            won = (record.wins + record.ties / 2) / games if games else None
            colour = "" if won is None else f' style="background:{_shade(won)}"'
            cells.append(
                f'<td class="cell" data-row="{escape(a)}" data-col="{escape(b)}" '
                f'data-wins="{record.wins}" data-losses="{record.losses}" '
                f'data-ties="{record.ties}"{colour} title="{escape(entrant_label(a))} against '
                f'{escape(entrant_label(b))}: {games} game(s)">'
                f"{record.text() if games else '–'}</td>"
            )
        lines.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table class="matrix" id="arena-matrix"><thead>{head}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )


def _shade(won: float) -> str:
    """Green for a winning record, red for a losing one, white for even."""
    strength = abs(won - 0.5) * 2
    base = (26, 127, 75) if won >= 0.5 else (180, 35, 24)
    mixed = [round(255 + (c - 255) * strength * 0.55) for c in base]
    return f"rgb({mixed[0]},{mixed[1]},{mixed[2]})"


def _markets(board: ArenaBoard, episode_file: Callable[[int], str]) -> str:
    rows = []
    for market in sorted(board.markets, key=lambda m: (m.scenario, m.seed, m.market_id)):
        seats = []
        for seat, entrant in enumerate(market.entrants):
            score = market.operators[seat] if market.finished else None
            figure = (
                f" {money(score.bank_cents / 100)} (#{score.rank}, {score.market_share:.0%})"
                if score
                else ""
            )
            link = (
                f'<a href="../{episode_file(market.episode_ids[seat])}">{escape(entrant_label(entrant))}</a>'
                if seat < len(market.episode_ids)
                else escape(entrant_label(entrant))
            )
            seats.append(f"seat {seat}: {link}{figure}")
        state = "" if market.finished else ' <span class="badge warn">running</span>'
        rows.append(
            f'<tr class="market"><td class="num">{market.market_id}{state}</td>'
            f'<td>{escape(market.scenario)}</td><td class="num">{market.seed}</td>'
            f"<td>{' · '.join(seats)}</td></tr>"
        )
    return (
        '<div class="scroll"><table id="arena-markets"><thead><tr><th class="num">market</th>'
        '<th>scenario</th><th class="num">seed</th><th>seats: entrant, final bank (rank, '
        f"share)</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
