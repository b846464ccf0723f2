"""One numbering of days, from 1, wherever people and agents see a day: the env's text and
`info`, the run summary, `tycoon show` and `tycoon export` agree."""

from __future__ import annotations

import json
import re

import gymnasium

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.store import WorldStore
from tycoon.summary import summarise_episode

WAIT = {"name": "wait_for_next_day", "arguments": {}}


def test_the_env_counts_days_from_one(tmp_path) -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "w.db")).unwrapped
    observation, info = env.reset(seed=2)
    try:
        assert info["day"] == 1 and observation.startswith("Day 1 (")
        for expected in (2, 3):
            observation, *_, info = env.step(WAIT)
            assert info["day"] == expected
            assert f"Day {expected} (" in observation
            assert f"Day {expected - 1} is over" in observation
            assert env.simulation.episode.day == expected - 1  # the stored day index
    finally:
        env.close()
        env.store.dispose()


def test_summary_show_and_export_agree_on_the_last_day(cli, tmp_path) -> None:
    db = tmp_path / "w.db"
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(db)).unwrapped
    env.reset(seed=2)
    for _ in range(3):
        *_, info = env.step(WAIT)
    env.step({"name": "get_balance", "arguments": {}})
    episode_id, env_day = env.episode_id, info["day"]
    env.close()
    env.store.dispose()
    assert env_day == 4

    store = WorldStore(str(db))
    summary = summarise_episode(store, episode_id)
    store.dispose()
    assert (summary.days, summary.day) == (3, 4)  # 3 days passed, on day 4

    shown = cli("show", str(episode_id), "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert "days         3 passed; last day 4" in shown.stdout
    step_days = [int(d) for d in re.findall(r"^#\s*\d+ day\s+(\d+)", shown.stdout, re.M)]
    assert step_days == [2, 3, 4, 4]

    out = tmp_path / "export.jsonl"
    exported = cli("export", "--db", str(db), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    record = json.loads(out.read_text().splitlines()[0])
    assert [s["day"] for s in record["steps"]] == step_days
    assert record["summary"]["day"] == 4
