"""tycoon inside other frameworks, one module per framework, each behind its own extra.

- `tycoon.integrations.openenv`: an OpenEnv environment server (`tycoon env-server`),
  extra `openenv`; TRL trains through it (examples/trl_grpo.py, extra `trl`).
- `tycoon.integrations.verifiers`: the verifiers taskset `tycoon-vending` (installed by
  environments/tycoon_vending) and `load_environment()`, extra `verifiers`.
- `tycoon.integrations.inspect_eval`: `inspect eval tycoon/vending`, extra `inspect`.
- `tycoon.integrations.skyrl`: a SkyRL-gym text environment (`register()`), extra `skyrl`.

Every adapter reads the same task rows (`tycoon.tasks`). Importing a module whose
framework is missing fails with the `pip install` line that brings it.
"""

from __future__ import annotations

import importlib.util


class MissingExtra(ImportError):
    """A framework adapter was imported without its framework installed."""


def require(module: str, extra: str) -> None:
    """Raise `MissingExtra` with an install hint unless `module` can be imported."""
    spec = importlib.util.find_spec(module)
    # a bare directory of that name on sys.path is a namespace package, not the framework
    if spec is None or spec.origin is None:
        raise MissingExtra(
            f"this needs the {module!r} package, which is not installed: "
            f"pip install 'tycoon[{extra}]'"
        )
