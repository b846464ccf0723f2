"""Without a framework's extra, its adapter says which `pip install` brings it, and the
`tycoon` commands that need one fail with that hint instead of a traceback.

The framework is made missing here (find_spec answers None for it), so the tests mean the
same whether or not it happens to be installed."""

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
    ("tycoon.integrations.verifiers", "verifiers", "verifiers"),
]


@pytest.mark.parametrize(("module", "framework", "extra"), ADAPTERS)
def test_adapter_without_its_framework_names_the_extra(module, framework, extra, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == framework else real(name, *a)
    )
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(MissingExtra, match=rf"pip install 'tycoon\[{extra}\]'"):
        importlib.import_module(module)


def test_a_directory_named_like_the_framework_is_not_the_framework(tmp_path, monkeypatch):
    (tmp_path / "openenv").mkdir()  # a namespace package, e.g. a test folder on sys.path
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tycoon.integrations.openenv", raising=False)
    if importlib.util.find_spec("openenv").origin is not None:
        return  # the real openenv is installed and wins over the bare directory
    with pytest.raises(MissingExtra):
        importlib.import_module("tycoon.integrations.openenv")


MISSING_OPENENV = (
    "import importlib.util, sys\n"
    "real = importlib.util.find_spec\n"
    "importlib.util.find_spec = lambda n, *a: None if n == 'openenv' else real(n, *a)\n"
    "from tycoon.cli import main\n"
    "sys.exit(main(['env-server', '--port', '1']))\n"
)


def test_env_server_without_openenv_prints_the_install_hint(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MISSING_OPENENV],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
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
