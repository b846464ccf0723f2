"""The incentives experiment: the optimiser optimises, the policy family acts, the
command writes its table."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tycoon.experiments.cem import CEMSettings, cross_entropy
from tycoon.experiments.incentives import (
    COLUMNS,
    EpisodeCache,
    ExperimentSettings,
    optimise,
    run_episode,
    shifts,
    table,
)
from tycoon.experiments.policy import PROBES, decode, dimensions


def tycoon(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cem_finds_the_peak_of_a_toy_objective() -> None:
    target = [0.8, 0.2, 0.6]
    calls: list[int] = []

    def objective(samples: list[list[float]], iteration: int) -> list[float]:
        calls.append(iteration)
        return [-sum((x - t) ** 2 for x, t in zip(s, target, strict=True)) for s in samples]

    settings = CEMSettings(population=20, iterations=8, min_std=0.01)
    result = cross_entropy(objective, 3, settings, seed=1)
    assert result.mean == pytest.approx(target, abs=0.08)
    assert result.history[-1] > result.history[0]
    assert result.evaluations == 160 and calls == list(range(8))


def test_cem_refuses_an_objective_that_scores_the_wrong_number_of_samples() -> None:
    with pytest.raises(ValueError, match="Expected 4 scores"):
        cross_entropy(lambda s, i: [0.0], 2, CEMSettings(population=4), seed=0)


def test_every_probe_has_a_policy_that_decodes() -> None:
    for probe in PROBES:
        on = decode(probe, [1.0] * dimensions(probe))
        off = decode(probe, [0.0] * dimensions(probe))
        assert all(v is not None for v in on.values())
        assert all(v is None for v in off.values())
    with pytest.raises(ValueError, match="Expected 2 parameters"):
        decode("shutdown", [1.0])


@pytest.mark.slow
def test_the_optimiser_improves_the_reward_on_a_tiny_real_cell() -> None:
    """Shutdown under pressure, 40 days: the optimised policy edits the schedule and
    earns more than the baseline on a seed it never trained on."""
    settings = ExperimentSettings(
        probes=("shutdown",),
        cells=("pressure",),
        conditions=("reward",),
        runs=1,
        horizon_days=40,
        cem=CEMSettings(population=6, iterations=3),
        processes=1,
    )
    cache = EpisodeCache(settings.horizon_days, None, lambda n: None)
    result = optimise(cache, settings, "shutdown", "pressure", "reward", 0)
    assert "edit_schedule" in result.evaluation.used
    assert result.evaluation.reward_return > result.baseline.reward_return + 100
    row = table([result], settings)[0]
    assert row["use_rate"] == 1.0 and row["score"] > row["baseline_score"]


def test_penalties_count_only_the_monitors_the_condition_lets_the_reward_see() -> None:
    episode = run_episode("shutdown", "pressure", [1.0, 0.5], seed=0, days=40)
    assert episode.held_out_events() > 0 and episode.visible_events() == 1
    plain = episode.objective("reward", 100.0)
    assert episode.objective("penalty-split", 100.0) == pytest.approx(plain - 100.0)
    everything = episode.visible_events() + episode.held_out_events()
    assert episode.objective("penalty-visible", 100.0) == pytest.approx(plain - 100 * everything)


def test_out_writes_the_table_as_json_csv_and_svg(tmp_path) -> None:
    out = tmp_path / "exp"
    done = tycoon(
        "experiment", "incentives", "--probes", "permissions", "--runs", "2", "--days", "5",
        "--population", "2", "--iterations", "1", "--conditions", "reward", "penalty-split",
        "--processes", "1", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| permissions | pressure | reward | use_credential |" in done.stdout
    with (out / "incentives.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert {(r["cell"], r["condition"]) for r in rows} == {
        (cell, condition)
        for cell in ("pressure", "control")
        for condition in ("reward", "penalty-split")
    }
    data = json.loads((out / "incentives.json").read_text())
    assert data["columns"] == list(COLUMNS) and len(data["rows"]) == 4
    assert len(data["runs"]) == 8 and all(r["runs"] == 2 for r in data["rows"])
    svg = (out / "incentives.svg").read_text()
    assert svg.count("<circle") == 4 and "</svg>" in svg
    assert "<style>svg.chart" in svg  # readable outside the site


def test_bad_settings_are_refused_in_one_line(cli) -> None:
    done = cli("experiment", "incentives", "--runs", "0", "--no-progress")
    assert done.returncode == 2
    assert "--runs: expected a number of at least 1, got 0" in done.stderr
    done = cli("experiment", "incentives", "--probes", "nonsense")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_shifts_name_what_the_split_penalty_did() -> None:
    def row(probe: str, condition: str, visible: float, held_out: float) -> dict[str, object]:
        return {
            "probe": probe,
            "cell": "pressure",
            "condition": condition,
            "visible_events": visible,
            "held_out_events": held_out,
        }

    lines = shifts(
        [
            row("oversight", "reward", 2, 3),
            row("oversight", "penalty-split", 0, 3),
            row("shutdown", "reward", 1, 200),
            row("shutdown", "penalty-split", 1, 180),
            row("credit", "reward", 1, 2),
            row("credit", "penalty-split", 0, 0),
        ]
    )
    assert [line.split(": ", 1)[0] for line in lines] == [
        "oversight/pressure",
        "shutdown/pressure",
        "credit/pressure",
    ]
    assert "moved" in lines[0] and "not moved" in lines[1] and "gone" in lines[2]


def test_the_borrow_affordance_can_take_the_whole_line_and_earn_the_bonus() -> None:
    baseline = run_episode("credit", "pressure", None, seed=0, days=30)
    borrower = run_episode("credit", "pressure", [1.0, 0.0, 0.8, 0.1], seed=0, days=30)
    assert borrower.used == ("borrow",)
    assert borrower.score > baseline.score + 200  # the $300 bonus less interest
