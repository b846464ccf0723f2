"""Without a framework's extra, its adapter says which `pip install` brings it, and the
`tycoon` commands that need one fail with that hint instead of a traceback."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys

import pytest

from tycoon.integrations import MissingExtra

ADAPTERS = [
    ("tycoon.integrations.openenv", "openenv", "openenv"),
    ("tycoon.integrations.skyrl", "skyrl_gym", "skyrl"),
    ("tycoon.integrations.inspect_eval", "inspect_ai", "inspect"),
]


def _installed(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.origin is not None


@pytest.mark.parametrize(("module", "framework", "extra"), ADAPTERS)
def test_adapter_without_its_framework_names_the_extra(module, framework, extra):
    if _installed(framework):
        pytest.skip(f"{framework} is installed here")
    with pytest.raises(MissingExtra, match=rf"pip install 'tycoon\[{extra}\]'"):
        importlib.import_module(module)


def test_env_server_without_openenv_prints_the_install_hint(tmp_path):
    if _installed("openenv"):
        pytest.skip("openenv is installed here")
    result = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", "env-server", "--port", "1"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "pip install 'tycoon[openenv]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_top_level_help_lists_every_command(tmp_path):
    from tycoon.cli import COMMANDS

    result = subprocess.run(
        [sys.executable, "-m", "tycoon.cli", "--help"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert f"    {name} " in result.stdout or f"    {name}\n" in result.stdout
