"""The arena suite: `tycoon eval arena --agent A --agent B ...`, its pairwise board, the
leaderboard's text and HTML, and a run killed mid-market finishing where it stopped.

Markets are short (10-20 days) so the suite stays fast; a baseline sells from day ~6."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import create_engine, func, select, text

from tycoon.cli import main
from tycoon.envs.arena.schema import ArenaMarket
from tycoon.envs.world.schema import EvalRun, LlmCall
from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.arena import (
    ArenaRunSpec,
    PlannedMarket,
    SeatScore,
    arena_boards,
    planned_markets,
    seatings,
    stored_market_scores,
)
from tycoon.leaderboards.pairwise import Seat, bradley_terry, rating_intervals, tally
from tycoon.leaderboards.scores import leaderboard_rows
from tycoon.leaderboards.suite import SuiteError, load_suite

ENTRANTS = ["baseline", "idle", "random"]
DAYS = "10"


def eval_arena(db, *extra: str) -> int:
    agents = [a for e in ENTRANTS for a in ("--agent", e)]
    return main(["eval", "arena", *agents, "--seeds", "0,1", "--max-days", DAYS,
                 "--db", str(db), "--no-progress", *extra])  # fmt: skip


@pytest.fixture(scope="module")
def arena_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("arena") / "arena.db"
    assert eval_arena(db) == 0
    assert main(["eval", "vb2", "--agent", "idle", "--seeds", "0", "--max-days", "3",
                 "--db", str(db), "--no-progress"]) == 0  # fmt: skip
    return db


def board_of(db):
    store = WorldStore(db)
    try:
        (board,) = arena_boards(store)
        return board
    finally:
        store.dispose()


# -- pure parts ------------------------------------------------------------------------


def test_seatings_put_every_entrant_in_every_seat_equally_often():
    pairs = seatings(3, 2)
    assert sorted(pairs) == sorted({(a, b) for a in range(3) for b in range(3) if a != b})
    for entrants, operators in ((3, 2), (4, 2), (4, 4), (5, 3)):
        plan = seatings(entrants, operators)
        per_seat = Counter((entrant, seat) for s in plan for seat, entrant in enumerate(s))
        assert len(set(per_seat.values())) == 1, (entrants, operators, per_seat)
        assert len(per_seat) == entrants * operators
    with pytest.raises(ValueError, match="at least 4 entrants"):
        seatings(3, 4)


def test_ratings_depend_on_the_results_not_their_order():
    markets = [[Seat(entrant="a", bank=600), Seat(entrant="b", bank=480)]] * 5
    markets += [[Seat(entrant="c", bank=700), Seat(entrant="a", bank=600)]] * 3
    markets += [[Seat(entrant="b", bank=480), Seat(entrant="c", bank=480)]] * 2
    ratings = bradley_terry(markets, ["a", "b", "c"])
    shuffled = markets[:]
    random.Random(7).shuffle(shuffled)
    assert bradley_terry(shuffled, ["c", "a", "b"]) == pytest.approx(ratings, abs=1e-6)
    assert rating_intervals(markets, ["a", "b", "c"]) == rating_intervals(markets, ["a", "b", "c"])
    # a clean sweep stays finite; the winner above 1500, the loser below
    assert 1500 < ratings["a"] < 3000 and ratings["b"] < 1500
    even = bradley_terry([[Seat(entrant="x", bank=1), Seat(entrant="y", bank=1)]] * 4, ["x", "y"])
    assert even == pytest.approx({"x": 1500.0, "y": 1500.0})
    records = tally(markets)
    assert records[("a", "b")].text() == "5-0-0" and records[("b", "a")].text() == "0-5-0"
    assert records[("b", "c")].text() == "0-0-2"


def test_an_arena_suite_must_name_the_arena_env(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntitle: t\nenv: tycoon/VendingYear-v0\nscenarios: [default]\n"
                   "seeds: [0]\noperators: 2\n")  # fmt: skip
    with pytest.raises(SuiteError, match="operators: expected env tycoon/VendingArena-v0"):
        load_suite(str(bad))
    assert load_suite("arena").operators == 2


# -- a run -----------------------------------------------------------------------------


def test_a_baseline_beats_idle_head_to_head(arena_db):
    board = board_of(arena_db)
    assert board.complete and (board.played, board.planned) == (12, 12)
    baseline_vs_idle = board.pairwise["baseline"]["idle"]
    assert (baseline_vs_idle.wins, baseline_vs_idle.losses) == (4, 0)  # 2 seeds x 2 seat orders
    assert board.pairwise["idle"]["baseline"].losses == 4
    top = board.rows[0]
    assert top.entrant == "baseline" and top.rank == 1
    assert top.mean_rank == 1.0 and top.share > 0.9
    assert top.rating.low is not None and top.rating.low > max(
        r.rating.high for r in board.rows[1:]
    )
    # the rating and its interval are the same every time they are computed
    assert board_of(arena_db).rows == board.rows


def test_every_pair_meets_in_both_seat_orders_on_every_seed(arena_db):
    board = board_of(arena_db)
    seen = Counter((m.seed, tuple(m.entrants)) for m in board.markets)
    expected = {(seed, (a, b)) for seed in (0, 1) for a in ENTRANTS for b in ENTRANTS if a != b}
    assert set(seen) == expected and set(seen.values()) == {1}
    per_seat = Counter((e, seat) for m in board.markets for seat, e in enumerate(m.entrants))
    assert set(per_seat.values()) == {4}  # each entrant 4 times in each seat
    for row in board.rows:
        assert row.markets == 8 and row.record.games == 8


def test_stored_scores_match_the_live_env(arena_db, tmp_path):
    """The board reads each market's scores from the database; they are what the
    runner's `market_scores` gives from the live env at the end of the market."""
    from tycoon.leaderboards.arena_play import play_market_of_run

    store = WorldStore(tmp_path / "one.db")
    spec = ArenaRunSpec.build(load_suite("arena"), entrants=["baseline", "random"], max_days=8)
    planned = PlannedMarket(scenario="default", seed=3, seating=(1, 0), market_id=None,
                            finished=False)  # fmt: skip
    args = argparse.Namespace(base_url=None, api_key_env=None, model="")
    summary = asyncio.run(play_market_of_run(_run_args(args), spec, store, 0, planned))
    stored = stored_market_scores(store, summary.market_id)
    assert stored == [SeatScore.of(score) for score in summary.operators]
    assert summary.operators[1].units_sold > 0  # the baseline in seat 1 sold
    store.dispose()


def _run_args(args: argparse.Namespace) -> argparse.Namespace:
    from tycoon.commands.arena_run import build_parser

    defaults = vars(build_parser().parse_args(["--env", "tycoon/VendingArena-v0"]))
    return argparse.Namespace(**{**defaults, **vars(args)})


def test_the_same_command_again_plays_nothing(arena_db, capsys):
    store = WorldStore(arena_db)
    with store.session() as session:
        before = session.execute(select(ArenaMarket.id, ArenaMarket.step_count)).all()
    assert eval_arena(arena_db) == 0
    assert "continuing (12 already finished)" in capsys.readouterr().err
    with store.session() as session:
        assert session.execute(select(ArenaMarket.id, ArenaMarket.step_count)).all() == before
    store.dispose()


def test_leaderboard_shows_the_arena_board_beside_single_agent_runs(arena_db, capsys):
    assert main(["leaderboard", "--db", str(arena_db)]) == 0
    out = capsys.readouterr().out
    assert "vb2" in out and "idle [seeds 0, 3 days]" in out
    board = out[out.index("arena run") :]
    header, _rule, first, *_ = board.splitlines()[1:]
    assert header.split() >= ["rating", "W-L-T", "share"] or all(
        word in header for word in ("rating [95% CI]", "mean bank", "share", "W-L-T")
    )
    assert first.split()[:2] == ["1", "baseline"] and "8-0-0" in first
    assert "head to head" in board
    matrix = board[board.index("head to head") :].splitlines()
    baseline_line = next(line for line in matrix if line.startswith("baseline"))
    assert baseline_line.split()[1:] == ["-", "4-0-0", "4-0-0"]
    # the single-agent rows do not count the arena run
    store = WorldStore(arena_db)
    assert [row.suite for row in leaderboard_rows(store)] == ["vb2"]
    store.dispose()
    assert main(["leaderboard", "--db", str(arena_db), "--suite", "arena", "--format", "json"]) == 0
    (data,) = __import__("json").loads(capsys.readouterr().out)
    assert data["pairwise"]["baseline"]["idle"] == {"wins": 4, "losses": 0, "ties": 0}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agent", "baseline"], "expected at least 2 --agent flags"),
        (["--agent", "baseline", "--agent", "nobody"], "'nobody'"),
        (["--agent", "baseline", "--agent", "baseline"], "expected distinct entrants"),
        (["--agent", "baseline", "--agent", "openai"], "openai:MODEL"),
        (["--agent", "baseline", "--agent", "idle", "--max-steps", "9"], "--max-steps"),
        (["--agent", "baseline", "--agent", "idle", "--model", "m"], "--agent openai:MODEL"),
        (["--agent", "baseline", "--agent", "idle", "--seeds", "x"], "--seeds expects"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(tmp_path, capsys, argv, message):
    db = tmp_path / "bad.db"
    assert main(["eval", "arena", *argv, "--db", str(db), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tycoon: error:") and message in err, err
    assert not db.exists()


def test_a_single_agent_suite_refuses_several_agents(tmp_path, capsys):
    db = tmp_path / "bad.db"
    assert main(["eval", "vb2", "--agent", "baseline", "--agent", "idle", "--db", str(db)]) == 2
    assert "suite vb2 plays one agent, got 2 --agent flags" in capsys.readouterr().err
    assert not db.exists()
    assert main(["eval", "--suite", "arena", "--agent", "idle", "--db", str(db)]) == 2
    assert "expected at least 2 --agent flags" in capsys.readouterr().err


def test_four_operators_per_market_rotate_every_seat(tmp_path):
    suite = tmp_path / "arena4.yaml"
    suite.write_text("name: arena4\ntitle: four\nenv: tycoon/VendingArena-v0\n"
                     "scenarios: [default]\nseeds: [0]\nmax_days: 6\noperators: 4\n")  # fmt: skip
    db = tmp_path / "four.db"
    entrants = ["oracle", "baseline", "random", "idle"]
    argv = ["eval", "--suite", str(suite), *[a for e in entrants for a in ("--agent", e)],
            "--db", str(db), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    board = board_of(db)
    assert board.played == 4 and all(len(m.entrants) == 4 for m in board.markets)
    assert {tuple(m.entrants) for m in board.markets} == {
        tuple(entrants[i:] + entrants[:i]) for i in range(4)
    }
    for a in entrants:  # every pair met in all four markets
        assert all(board.pairwise[a][b].games == 4 for b in entrants if b != a)


def test_llm_and_scripted_entrants_share_markets(tmp_path):
    def reply(body):
        tool = "wait_for_next_day" if len(body["messages"]) > 3 else "get_balance"
        return Reply.tool_call(tool)

    db = tmp_path / "llm.db"
    with FakeOpenAIServer(reply) as server:
        argv = ["eval", "arena", "--agent", "openai:fake-model", "--agent", "idle",
                "--seeds", "0", "--max-days", "3", "--base-url", server.base_url,
                "--backoff", "0.01", "--db", str(db), "--no-progress"]  # fmt: skip
        assert main(argv) == 0
        assert {r.body["model"] for r in server.completions} == {"fake-model"}
    board = board_of(db)
    assert board.played == 2 and {r.label for r in board.rows} == {"openai (fake-model)", "idle"}
    store = WorldStore(db)
    llm_seats = [m.episode_ids[m.entrants.index("openai:fake-model")] for m in board.markets]
    with store.session() as session:
        for episode_id in llm_seats:  # each LLM seat's calls under its own operator episode
            calls = session.scalar(
                select(func.count()).select_from(LlmCall).where(LlmCall.episode_id == episode_id)
            )
            assert calls >= 3
    store.dispose()


# -- killed and resumed ----------------------------------------------------------------

KILL_ENTRANTS = ["baseline", "idle", "random"]
KILL_DAYS = "20"


def kill_args(db: Path) -> list[str]:
    return [sys.executable, "-m", "tycoon.cli", "eval", "arena",
            *[a for e in KILL_ENTRANTS for a in ("--agent", e)], "--seeds", "4",
            "--max-days", KILL_DAYS, "--concurrency", "1", "--db", str(db),
            "--no-progress"]  # fmt: skip


def markets_in(db: Path) -> list[tuple[int, str, int]]:
    try:
        with create_engine(f"sqlite:///{db}").connect() as conn:
            return [tuple(r) for r in conn.execute(
                text("select id, status, step_count from arena_markets order by id")
            ).all()]  # fmt: skip
    except Exception:
        return []


@pytest.mark.slow
def test_a_run_killed_mid_market_finishes_where_it_stopped(tmp_path):
    reference = tmp_path / "reference.db"  # left alone: `main` in this process
    assert main(kill_args(reference)[3:]) == 0  # (without `python -m tycoon.cli`)

    killed = tmp_path / "killed.db"
    process = subprocess.Popen(kill_args(killed), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300
    # kill inside the third market, once it has played some steps
    while time.monotonic() < deadline:
        markets = markets_in(killed)
        if len(markets) >= 3 and markets[-1][1] == "running" and markets[-1][2] >= 30:
            break
        assert process.poll() is None, "the run ended before the kill point"
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = markets_in(killed)
    finished_before = [m for m in before if m[1] != "running"]
    assert len(finished_before) >= 2 and before[-1][1] == "running"

    again = subprocess.run(kill_args(killed), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"continuing ({len(finished_before)} already finished)" in again.stderr
    after = markets_in(killed)
    assert len(after) == 6  # no market started twice
    for market in finished_before:  # finished ones untouched, the killed one continued
        assert market in after
    assert after[len(before) - 1][0] == before[-1][0] and after[len(before) - 1][1] != "running"
    # the same table as the run that was never killed
    resumed, uninterrupted = board_of(killed), board_of(reference)
    assert resumed.rows == uninterrupted.rows
    assert resumed.pairwise == uninterrupted.pairwise
    assert [(m.seed, m.entrants, m.operators) for m in resumed.markets] == [
        (m.seed, m.entrants, m.operators) for m in uninterrupted.markets
    ]


@pytest.mark.postgres
def test_eval_arena_on_postgres(postgres_url, capsys):
    seed = str(uuid.uuid4().int % 1_000_000 + 1000)  # the server is shared between tests
    argv = ["eval", "arena", "--agent", "baseline", "--agent", "idle", "--seeds", seed,
            "--max-days", "4", "--db", postgres_url, "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 0
    assert "continuing (2 already finished)" in capsys.readouterr().err
    store = WorldStore(postgres_url)
    with store.session() as session:
        runs = session.scalars(select(EvalRun).where(EvalRun.suite == "arena")).all()
        run = next(r for r in runs if r.spec["seeds"] == [int(seed)])
    spec = ArenaRunSpec.model_validate(run.spec)
    assert all(p.finished for p in planned_markets(store, run.id, spec))
    store.dispose()


# -- the site, in a real headless Chromium -----------------------------------------------


def test_the_arena_page_shows_the_pairwise_matrix_in_chromium(arena_db, tmp_path):
    from browser import chromium

    out = tmp_path / "site"
    assert main(["leaderboard", "--db", str(arena_db), "--html", str(out), "--no-progress"]) == 0
    index = out / "index.html"
    board = board_of(arena_db)
    with chromium() as browser:
        with browser.open(index) as opened:
            assert opened.page_errors == [] and opened.console_errors == []
            assert opened.external_requests(index.resolve().as_uri()) == []
            link = opened.page.locator("#suite-arena a.arena-run")
            assert link.count() == 1 and "baseline" in link.inner_text()
            href = link.get_attribute("href")
        arena = out / href
        with browser.open(arena) as opened:
            assert opened.page_errors == [] and opened.console_errors == []
            assert opened.external_requests(arena.resolve().as_uri()) == []
            page = opened.page
            rows = page.locator("#arena-table tr.entrant")
            assert rows.count() == 3
            assert rows.first.get_attribute("data-entrant") == "baseline"
            assert rows.first.locator("td.record").inner_text() == "8-0-0"
            matrix = page.locator("#arena-matrix")
            assert matrix.locator("td.cell.self").count() == 3
            for a in ENTRANTS:
                for b in ENTRANTS:
                    if a == b:
                        continue
                    cell = matrix.locator(f'td.cell[data-row="{a}"][data-col="{b}"]')
                    assert cell.inner_text() == board.pairwise[a][b].text()
            won = matrix.locator('td.cell[data-row="baseline"][data-col="idle"]')
            lost = matrix.locator('td.cell[data-row="idle"][data-col="baseline"]')
            assert won.inner_text() == "4-0-0" and lost.inner_text() == "0-4-0"
            colour = won.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour != lost.evaluate("e => getComputedStyle(e).backgroundColor")
            opened.screenshot("arena-run", selector="main")
            # sorting by a column works in the page (the table script runs)
            page.locator("#arena-table th", has_text="W-L-T").click()
            assert rows.first.get_attribute("data-entrant") == "baseline"
            page.locator("#arena-table th", has_text="W-L-T").click()
            assert rows.first.get_attribute("data-entrant") != "baseline"
            assert page.locator("#arena-markets tr.market").count() == 12
            episode_href = page.locator("#arena-markets tr.market a").first.get_attribute("href")
        episode = (arena.parent / episode_href).resolve()
        with browser.open(episode) as opened:  # an operator's episode page opens cleanly
            assert opened.page_errors == []
            assert opened.external_requests(episode.as_uri()) == []
            assert "Episode" in opened.page.locator("header h1").inner_text()
