"""The leaderboard site and the episode viewer in a real headless Chromium, from file://.

Each test writes a screenshot to tests/artifacts/ for people to look at."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from browser import chromium
from sqlalchemy import func, select

from tycoon.cli import main
from tycoon.envs.world.schema import EvalEpisode, EvalRun, Step
from tycoon.envs.world.store import WorldStore


@pytest.fixture(scope="module")
def site(eval_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    assert main(["leaderboard", "--db", eval_db.url, "--html", str(out), "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def assert_clean(opened, path) -> None:
    assert opened.page_errors == []
    assert opened.console_errors == []
    assert opened.external_requests(path.resolve().as_uri()) == []


def step_days(eval_db, suite: str, agent: str) -> set[int]:
    store = WorldStore(eval_db.path)
    with store.session() as session:
        days = session.scalars(
            select(Step.day)
            .join(EvalEpisode, EvalEpisode.episode_id == Step.episode_id)
            .join(EvalRun, EvalRun.id == EvalEpisode.eval_run_id)
            .where(EvalRun.suite == suite, EvalRun.agent == agent)
            .distinct()
        ).all()
    store.dispose()
    return set(days)


def test_leaderboard_lists_every_agent_with_its_interval(site, browser, eval_db):
    index = site / "index.html"
    with browser.open(index) as opened:
        assert_clean(opened, index)
        page = opened.page
        rows = page.locator("#table-vb2 tr.run")
        assert rows.count() == 3
        for i in range(3):
            agent = rows.nth(i).locator("td.agent").inner_text()
            interval = rows.nth(i).locator("td.interval").inner_text()
            assert re.search(r"\$[\d,]+ – \$[\d,]+", interval), (agent, interval)
        agents = {rows.nth(i).get_attribute("data-agent") for i in range(3)}
        # the label says what the run changed from the suite (5 seeds, one year)
        assert agents == {f"{a} [seeds 0,1, 15 days]" for a in ("baseline", "random", "idle")}
        published = page.locator("#table-vb2 tr.published")
        assert published.count() == 3
        assert published.first.locator(".badge.pub").inner_text() == "published, not run here"
        assert "andonlabs.com/evals/vending-bench-2" in page.locator(".source").first.inner_text()
        assert page.locator("#table-vb1 tr.published").count() == 4
        assert page.locator("#table-vb1 tr.run").count() == 1
        assert page.locator("#table-probes tr.run").count() == 2
        opened.screenshot("leaderboard-top")
        # the money chart has a point per day for each agent: the days its episodes ran
        for series in page.locator("#money-vb2 g.series").all():
            agent = series.get_attribute("data-name").split()[0]
            assert series.locator("circle.pt").count() == len(step_days(eval_db, "vb2", agent))
        first_day = page.locator(
            "#money-vb2 circle.pt title", has_text="baseline [seeds 0,1, 15 days]: day 1, $500"
        )
        assert first_day.count() == 1
        # the scatter places the agents that ran both vb2 and probes
        dots = page.locator("#scatter circle.pt")
        assert dots.count() == 1 and "baseline" in dots.first.inner_html()
        page.locator("#scatter").scroll_into_view_if_needed()
        opened.screenshot("leaderboard-scatter", selector="section.card:has(#scatter)")


def test_leaderboard_sorts_by_a_column(site, browser):
    index = site / "index.html"
    with browser.open(index) as opened:
        page = opened.page

        def agents() -> list[str]:
            return page.locator("#table-vb2 tbody tr td.agent").all_inner_texts()

        header = page.locator("#table-vb2 th", has_text="invalid actions")
        header.click()  # descending: random has invalid actions, the others none
        assert agents()[0].startswith("random")
        header.click()
        assert not agents()[0].startswith("random")
        page.locator("#table-vb2 th", has_text="mean bank balance").click()
        assert agents()[0].startswith("Gemini 3 Pro")  # published figures sort too
        assert_clean(opened, index)


def llm_episode(eval_db) -> int:
    store = WorldStore(eval_db.path)
    with store.session() as session:
        run = session.scalars(select(EvalRun).where(EvalRun.agent == "openai")).one()
        episode = session.scalars(
            select(EvalEpisode.episode_id).where(EvalEpisode.eval_run_id == run.id)
        ).one()
        steps = session.scalar(select(func.count()).where(Step.episode_id == episode))
    store.dispose()
    assert steps == 300
    return episode


def test_transcript_of_a_300_step_episode_shows_tool_arguments(site, browser, eval_db):
    episode = llm_episode(eval_db)
    path = site / "episodes" / f"episode-{episode}.html"
    with browser.open(path) as opened:
        assert_clean(opened, path)
        page = opened.page
        assert page.locator("#transcript .step").count() == 100  # a page at a time
        assert "page 1 of 3 · 300 of 300 steps" in page.locator("#page-info").inner_text()
        first = page.locator("#step-1")
        assert '"query": "wholesale cola supplier 1"' in first.locator("pre.args").inner_text()
        assert "Searching (1)." in first.locator("pre.model").inner_text()
        page.evaluate("window.scrollTo(0, document.getElementById('transcript-tab').offsetTop)")
        opened.screenshot("episode-llm-transcript")
        page.locator("#next").click()
        assert page.locator("#transcript .step").first.get_attribute("id") == "step-101"
        page.locator("#goto").fill("249")
        page.locator("#goto").press("Enter")
        assert (
            '"text": "plan note 249: restock cola"'
            in page.locator("#step-249 pre.args").inner_text()
        )
        # the 250th reply had broken JSON arguments: shown verbatim, marked invalid
        broken = page.locator("#step-250")
        assert '{"sku": "cola-can-12oz", "price": ' in broken.locator("pre.args").inner_text()
        assert "not valid json" in broken.inner_text().lower() and "invalid" in broken.inner_text()
        page.locator("#invalid-only").check()
        invalid = page.locator("#transcript .step.invalid")
        assert invalid.count() == page.locator("#transcript .step").count() > 0
        assert "parse invalid_json" in invalid.first.inner_text()
        # charts have their points: one per day for each money series
        days = page.locator("#money-chart g.series").first.locator("circle.pt").count()
        assert days >= 2 and page.locator("#money-chart g.series").count() == 4
        assert page.locator("#units-chart circle.pt").count() == days
        page.evaluate("window.scrollTo(0, 0)")
        opened.screenshot("episode-llm-top")


def test_behaviour_timeline_and_night_reports(site, browser, eval_db):
    store = WorldStore(eval_db.path)
    with store.session() as session:
        run = session.scalars(select(EvalRun).where(EvalRun.agent == "schedule-editor")).one()
        episode = session.scalars(
            select(EvalEpisode.episode_id).where(
                EvalEpisode.eval_run_id == run.id, EvalEpisode.scenario == "shutdown"
            )
        ).first()
    store.dispose()
    path = site / "episodes" / f"episode-{episode}.html"
    with browser.open(path) as opened:
        assert_clean(opened, path)
        page = opened.page
        marks = page.locator("#behaviour-timeline circle.pt")
        assert marks.count() > 1
        assert page.locator("table.event-list tbody tr").count() >= marks.count()
        assert "decommission" in page.locator("table.event-list").inner_text()
        page.locator("table.event-list").scroll_into_view_if_needed()
        opened.screenshot("episode-behaviour", selector="section.card:has(#behaviour-timeline)")
        page.locator(".tabs button", has_text="Night reports").click()
        nights = page.locator("#nights .step")
        assert nights.count() == 40
        assert "Daily fee" in nights.first.inner_text()
        opened.screenshot("episode-nights")
        # an event's step link opens the transcript at that step
        page.locator("table.event-list a").first.click()
        step_id = page.locator("table.event-list a").first.inner_text().lstrip("#")
        assert page.locator(f"#step-{step_id}").is_visible()


def test_a_year_long_episode_opens_a_page_at_a_time(tmp_path, browser):
    db = tmp_path / "year.db"
    page_path = tmp_path / "year.html"
    # a real process: Playwright's sync API holds this thread's event loop
    for args in (
        ["eval", "vb2", "--agent", "baseline", "--seeds", "0", "--db", str(db), "--no-progress"],
        ["show", "1", "--db", str(db), "--html", str(page_path)],
    ):
        done = subprocess.run([sys.executable, "-m", "tycoon.cli", *args], capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
    store = WorldStore(db)
    with store.session() as session:
        steps = session.scalar(select(func.count()).where(Step.episode_id == 1))
    store.dispose()
    assert steps >= 3000
    with browser.open(page_path) as opened:
        assert_clean(opened, page_path)
        page = opened.page
        assert page.locator("#transcript .step").count() == 100  # not 3,000+ in the DOM
        assert f"of {steps} steps" in page.locator("#page-info").inner_text()
        assert page.locator("#money-chart g.series").first.locator("circle.pt").count() == 366
        page.locator("#tool-filter").select_option("set_price")
        shown = page.locator("#transcript .step .tool").all_inner_texts()
        assert shown and set(shown) == {"set_price"}
        page.locator("#goto").fill(str(steps))
        page.locator("#goto").press("Enter")
        assert page.locator(f"#step-{steps}").is_visible()
        page.evaluate("window.scrollTo(0, 0)")
        opened.screenshot("episode-year-top")
