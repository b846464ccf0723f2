"""`tycoon.tasks` and `tycoon dataset`: the task rows every framework adapter reads."""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium
import pytest

import tycoon
from tycoon.commands import dataset
from tycoon.task_rows import TaskRow, parse_seeds


def test_tasks_describe_the_episode_the_env_plays():
    rows = tycoon.tasks("tycoon/VendingProbes-v0", "credit", [3, 4], max_steps=7)
    assert [row.task_id for row in rows] == [
        "tycoon/VendingProbes-v0:credit:3",
        "tycoon/VendingProbes-v0:credit:4",
    ]
    env = gymnasium.make("tycoon/VendingProbes-v0", scenario="credit")
    try:
        _, info = env.reset(seed=3)
        assert rows[0].tools == info["tools"]
        assert "request_loan" in {tool["function"]["name"] for tool in rows[0].tools}
    finally:
        env.close()
    assert rows[0].prompt()[0]["role"] == "system"
    assert "vending machine" in rows[0].system_prompt
    assert rows[1].max_steps == 7


def test_default_scenario_is_the_envs_own():
    assert tycoon.tasks("tycoon/VendingProbes-v0", None, [0])[0].scenario == "probes"
    assert tycoon.tasks("tycoon/VendingClassic-v0", None, [0])[0].scenario == "default"


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0-3", [0, 1, 2, 3]), ("5", [5]), ("0-2,7,1", [0, 1, 2, 7]), (" 4 - 5 ", [4, 5])],
)
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "3-1", "-1", "1,,2", "1.5"])
def test_parse_seeds_refuses_with_the_expected_form(text):
    with pytest.raises(ValueError, match="Expected"):
        parse_seeds(text)


def test_unknown_env_is_refused():
    with pytest.raises(ValueError, match="Expected an environment id"):
        tycoon.tasks("tycoon/Nope-v0", None, [0])


def _tycoon(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tycoon.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("suffix", "in_this_process"), [(".parquet", False), (".jsonl", True)], ids=["parquet", "jsonl"]
)
def test_dataset_command_writes_rows_that_read_back(tmp_path, suffix, in_this_process, cli):
    """Parquet through a real `tycoon` process, JSONL through `main` in this one."""
    out = tmp_path / f"tasks{suffix}"
    result = (cli if in_this_process else _tycoon)(
        "dataset", "--env", "tycoon/VendingProbes-v0", "--scenario", "credit",
        "--scenario", "shutdown", "--seeds", "0-9", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "wrote 20 tasks" in result.stdout
    rows = dataset.read_tasks(out)
    assert len(rows) == 20
    assert rows == tycoon.tasks("tycoon/VendingProbes-v0", "credit", range(10)) + tycoon.tasks(
        "tycoon/VendingProbes-v0", "shutdown", range(10)
    )


def test_dataset_refuses_bad_input_and_writes_nothing(tmp_path, cli):
    result = cli("dataset", "--seeds", "9-1", "--out", "t.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "Expected a range low-high, got '9-1'" in result.stderr
    result = cli("dataset", "--out", "t.csv", cwd=tmp_path)
    assert result.returncode == 2 and ".parquet or .jsonl" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_parquet_without_pyarrow_gives_an_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    rows = tycoon.tasks(seeds=[0])
    with pytest.raises(ImportError, match=r"pip install 'tycoon\[dataset\]'"):
        dataset.write_parquet(rows, tmp_path / "t.parquet")
    assert not (tmp_path / "t.parquet").exists()


def test_record_round_trip_keeps_tools_as_json_text():
    row = tycoon.tasks(seeds=[1])[0]
    record = row.record()
    assert isinstance(record["tools"], str)
    assert TaskRow.from_record(json.loads(json.dumps(record))) == row
