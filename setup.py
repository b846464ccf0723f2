"""The package list, computed: every package under the mapped folders is installed.

The repository root holds envs/, agents/, ... (the layout the project card names); they
are installed under one namespace, so `envs/` is imported as `tycoon.envs` and no
top-level `envs` or `agents` module is ever installed. setuptools' own discovery
(`[tool.setuptools.packages.find]`) cannot prefix the names it finds, so the list is
built here from the same mapping: a new subpackage (a folder with `__init__.py`) or a
new data file in a package folder is picked up without editing anything.
Everything else (metadata, dependencies, extras) lives in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
# the import name of each top-level folder
PACKAGE_DIR = {
    "tycoon": "tycoon",
    "tycoon.envs": "envs",
    "tycoon.agents": "agents",
    "tycoon.rewards": "rewards",
    "tycoon.instrumentation": "instrumentation",
    "tycoon.leaderboards": "leaderboards",
}
SKIP_SUFFIXES = (".py", ".pyc", ".pyo")


def packages() -> list[str]:
    names = []
    for name, folder in PACKAGE_DIR.items():
        names.append(name)
        names.extend(f"{name}.{sub}" for sub in find_packages(str(ROOT / folder)))
    return sorted(names)


def package_folder(name: str) -> Path:
    top = max((n for n in PACKAGE_DIR if name == n or name.startswith(n + ".")), key=len)
    rest = name[len(top) + 1 :].split(".") if name != top else []
    return ROOT.joinpath(PACKAGE_DIR[top], *rest)


def package_data(names: list[str]) -> dict[str, list[str]]:
    """Every non-Python file in a package's folder or its non-package subfolders
    (prompts/, gold/, TAXONOMY.md, py.typed, ...)."""
    data: dict[str, list[str]] = {}
    for name in names:
        folder = package_folder(name)
        files = []
        for path in folder.rglob("*"):
            relative = path.relative_to(folder)
            if not path.is_file() or path.suffix in SKIP_SUFFIXES:
                continue
            if "__pycache__" in relative.parts or any(p.startswith(".") for p in relative.parts):
                continue
            # a file inside a subpackage belongs to that subpackage
            if any(
                (folder.joinpath(*relative.parts[: i + 1]) / "__init__.py").exists()
                for i in range(len(relative.parts) - 1)
            ):
                continue
            files.append(relative.as_posix())
        if files:
            data[name] = sorted(files)
    return data


PACKAGES = packages()
setup(packages=PACKAGES, package_dir=PACKAGE_DIR, package_data=package_data(PACKAGES))
