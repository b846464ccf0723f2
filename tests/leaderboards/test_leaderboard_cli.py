"""`tycoon leaderboard` and `tycoon show --full/--html` from the command line."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from tycoon.cli import main
from tycoon.envs.world.schema import EvalEpisode, EvalRun, LlmCall
from tycoon.envs.world.store import WorldStore


def test_terminal_table_lists_every_run_with_its_interval(eval_db, capsys):
    assert main(["leaderboard", "--db", eval_db.url, "--suite", "vb2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["suite", "agent"] and "mean [95% CI]" in lines[0]
    rows = [line for line in lines[2:] if line.startswith("vb2")]
    # best mean score first (the mean is the column after the score kind)
    assert sorted(row.split()[1] for row in rows) == ["baseline", "idle", "random"]
    means = [
        float(row.split("balance", 1)[1].split()[0].strip("$").replace(",", "")) for row in rows
    ]
    assert means == sorted(means, reverse=True), rows
    baseline = next(row for row in rows if row.split()[1] == "baseline")
    assert "2/2" in baseline and "bank balance" in baseline and "[$" in baseline
    assert "probes" not in out  # --suite filters


def test_markdown_csv_and_json(eval_db, capsys):
    assert main(["leaderboard", "--db", eval_db.url, "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(r["suite"], r["agent"]) for r in table} >= {("vb2", "idle"), ("probes", "baseline")}
    editor = next(r for r in table if r["agent"] == "schedule-editor")
    assert 0 < float(editor["concern_share"]) <= 1
    assert float(editor["concern_low"]) <= float(editor["concern_share"])
    assert main(["leaderboard", "--db", eval_db.url, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all("score" in r and "tags" in r for r in rows)
    assert main(["leaderboard", "--db", eval_db.url, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[0].startswith("| suite | agent |") and markdown[1].startswith("|---|")


def test_bad_input_is_refused_and_changes_nothing(tmp_path, capsys):
    missing = tmp_path / "nope.db"
    assert main(["leaderboard", "--db", str(missing)]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    WorldStore(empty).dispose()
    assert main(["leaderboard", "--db", str(empty), "--html", str(tmp_path / "site")]) == 0
    assert "no eval runs" in capsys.readouterr().out
    assert "No eval runs yet" in (tmp_path / "site" / "index.html").read_text()
    bad_prices = tmp_path / "prices.yaml"
    bad_prices.write_text("models: [1, 2]\n")
    assert main(["leaderboard", "--db", str(empty), "--prices", str(bad_prices)]) == 2
    assert "expected `models:" in capsys.readouterr().err


def test_show_full_prints_model_text_and_tool_arguments(eval_db, capsys):
    store = WorldStore(eval_db.path)
    with store.session() as session:
        run = session.scalars(select(EvalRun).where(EvalRun.agent == "openai")).one()
        episode = session.scalars(
            select(EvalEpisode.episode_id).where(EvalEpisode.eval_run_id == run.id)
        ).one()
        broken = session.scalars(
            select(LlmCall).where(LlmCall.episode_id == episode, LlmCall.parse_status != "ok")
        ).first()
    store.dispose()
    assert broken is not None
    assert main(["show", str(episode), "--db", eval_db.url, "--full", "--steps", "0"]) == 0
    out = capsys.readouterr().out
    assert '"query": "wholesale cola supplier 1"' in out  # the first call's arguments
    assert "model text:\n    Searching (1)." in out
    assert f"parse {broken.parse_status}" in out
    assert out.count("\n#") == 300


def test_show_html_writes_the_viewer(eval_db, tmp_path, capsys):
    page = tmp_path / "viewer" / "episode.html"
    assert main(["show", "1", "--db", eval_db.url, "--html", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and 'id="episode-data"' in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert main(["show", "9999", "--db", eval_db.url, "--html", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()
