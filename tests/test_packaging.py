"""The built wheel holds every module and data file of the mapped folders, under `tycoon.`;
the README's test command is the one CI runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder -> where its files land in the wheel (pyproject.toml / setup.py map them)
MAPPED = {
    "tycoon": "tycoon",
    "envs": "tycoon/envs",
    "agents": "tycoon/agents",
    "rewards": "tycoon/rewards",
    "instrumentation": "tycoon/instrumentation",
    "leaderboards": "tycoon/leaderboards",
}
BUILD_FILES = ("pyproject.toml", "setup.py", "README.md")


def _source_files() -> set[str]:
    """Every file of the mapped folders as its path in the wheel (caches left out)."""
    expected = set()
    for folder, target in MAPPED.items():
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT / folder)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                expected.add(f"{target}/{relative.as_posix()}")
    return expected


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    # build from a clean copy: a stale build/ in the work tree must not hide a missing file
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in BUILD_FILES:
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in MAPPED:
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("tycoon-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def test_the_wheel_holds_every_module_and_data_file(wheel_files) -> None:
    expected = _source_files()
    assert "tycoon/commands/run.py" in expected  # the module a hand-written list once missed
    assert "tycoon/agents/llm/prompts/system.md" in expected
    assert "tycoon/instrumentation/gold/cases.jsonl" in expected
    missing = sorted(expected - wheel_files)
    assert not missing, f"not in the wheel: {missing}"
    extra = sorted(wheel_files - expected)
    assert not extra, f"in the wheel but not in the source folders: {extra}"
    # one namespace: nothing installs a top-level envs, agents, ...
    tops = {name.split("/", 1)[0] for name in wheel_files}
    assert tops == {"tycoon"}


def test_every_package_folder_is_a_package() -> None:
    """A folder holding Python modules without __init__.py would be left out of the wheel
    (setup.py finds packages); data-only folders (prompts/, gold/) need none."""
    for folder in MAPPED:
        for path in (ROOT / folder).rglob("*.py"):
            assert (path.parent / "__init__.py").exists(), f"{path.parent} has no __init__.py"


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block, "README.md has no bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]


def test_readme_opens_with_the_run_and_the_test_command() -> None:
    run, test = _readme_commands()[:2]
    assert run == "pip install -e . && tycoon run"
    # the test command installs what the tests need and filters nothing out
    assert test.startswith("pip install -e '.[test]' && pytest")
    assert " -m " not in test and "not slow" not in test


def test_ci_runs_the_readme_test_command() -> None:
    printed = subprocess.run(
        ["bash", str(ROOT / ".ci" / "test-command")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert printed == _readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'TEST_CMD="$(bash .ci/test-command)"' in ci and 'bash -c "$TEST_CMD"' in ci


def test_the_default_test_run_includes_slow_tests() -> None:
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "slow" not in options.get("addopts", "")


def test_the_test_extra_has_what_the_tests_import() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[\[<>=]", req)[0] for req in extras["test"]}
    assert {"pytest", "pytest-timeout", "psycopg"} <= names
