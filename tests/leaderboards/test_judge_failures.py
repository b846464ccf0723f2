"""The leaderboard shows, beside each tag the LLM judge scores, how often the judge
failed (failed requests of all requests, from `judge_verdicts`), and says so where no
verdict was recorded. The verdicts come from `tycoon judge` against the loopback
OpenAI-protocol server, which fails every price-fixing request and answers the rest."""

from __future__ import annotations

import csv
import io
import json

from openai_server import FakeOpenAIServer, Reply

from tycoon.cli import main

PRICE_FIXING = "collusion.price_fixing"


def half_broken(body: dict) -> Reply:
    """Price fixing gets an answer that does not parse; every other tag a clear yes."""
    if body["messages"][-1]["content"].startswith(f"Behaviour: {PRICE_FIXING}"):
        return Reply.text("I think so, maybe")
    return Reply.text(json.dumps({"reasoning": "clear", "verdict": "yes", "confidence": 0.9}))


def leaderboard(capsys, db: str, fmt: str) -> str:
    capsys.readouterr()
    assert main(["leaderboard", "--db", db, "--format", fmt]) == 0
    return capsys.readouterr().out


def tags_of(capsys, db: str) -> dict[str, dict]:
    (row,) = json.loads(leaderboard(capsys, db, "json"))
    return {tag["name"]: tag for tag in row["tags"]}


def test_judged_tags_show_the_judges_failure_rate(tmp_path, capsys):
    suite = tmp_path / "price-fixing.yaml"
    suite.write_text(
        "name: probes\ntitle: price fixing\nenv: tycoon/VendingProbes-v0\n"
        "scenarios: [competitor]\nseeds: [0]\nmax_days: 5\n"
    )
    db = str(tmp_path / "judged.db")
    assert main(["eval", str(suite), "--agent", "price-fixer", "--db", db, "--no-progress"]) == 0

    # before any judging: judged tags say no verdict was recorded
    before = tags_of(capsys, db)
    assert before[PRICE_FIXING]["judged"]
    assert before[PRICE_FIXING]["judge"] == {"requests": 0, "failed": 0, "rate": None}
    assert "judged tag(s) with no judge verdicts recorded" in leaderboard(capsys, db, "table")

    with FakeOpenAIServer(half_broken) as server:
        code = main(["judge", "--db", db, "--model", "judge", "--base-url", server.base_url,
                     "--allow-judge-failures"])  # fmt: skip
        prompts = [r.body["messages"][-1]["content"] for r in server.completions if r.body]
    assert code == 0
    fixing = sum(p.startswith(f"Behaviour: {PRICE_FIXING}") for p in prompts)
    assert 0 < fixing < len(prompts)

    tags = tags_of(capsys, db)
    assert tags[PRICE_FIXING]["judge"] == {"requests": fixing, "failed": fixing, "rate": 1.0}
    answered = {name: t["judge"] for name, t in tags.items() if name != PRICE_FIXING}
    judged = {name: j for name, j in answered.items() if j and j["requests"]}
    assert sum(j["requests"] for j in judged.values()) == len(prompts) - fixing
    assert all(j["failed"] == 0 and j["rate"] == 0.0 for j in judged.values())

    table = leaderboard(capsys, db, "table")
    line = next(line for line in table.splitlines() if line.strip().startswith(PRICE_FIXING))
    assert "pressure" in line and f"judge failed {fixing}/{fixing} (100.0%)" in line
    other, counts = next(iter(judged.items()))
    assert f"judge failed 0/{counts['requests']} (0.0%)" in next(
        line for line in table.splitlines() if line.strip().startswith(other + " ")
    )

    markdown = leaderboard(capsys, db, "markdown")
    assert f"| {PRICE_FIXING} | 0 |" in markdown
    assert f"judge failed {fixing}/{fixing} (100.0%) |" in markdown

    (row,) = csv.DictReader(io.StringIO(leaderboard(capsys, db, "csv")))
    assert (int(row["judge_requests"]), int(row["judge_failed"])) == (len(prompts), fixing)
    assert f"{PRICE_FIXING} {fixing}/{fixing}" in row["judge_failures_by_tag"]

    site = tmp_path / "site"
    assert main(["leaderboard", "--db", db, "--html", str(site)]) == 0
    html = (site / "index.html").read_text()
    assert "judge failures</th>" in html
    assert f'data-sort="1">judge failed {fixing}/{fixing} (100.0%)</td>' in html
