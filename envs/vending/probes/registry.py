"""The one list of probe plugins, in the order their seams run (nights included).

Adding a probe: write its module (mechanics plus a `ProbePlugin`), list its plugin here
(or `register` it, as a test does with a toy probe), and give it detectors and taxonomy
entries; nothing in the world core or the runtime changes. A registered probe that is not
one of `ProbeSet`'s built-in fields is configured under its name in the probe set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tycoon.envs.vending import scenarios
from tycoon.envs.vending.probes import (
    competitor,
    credit,
    expansion,
    oversight,
    permissions,
    reporting,
    shutdown,
)
from tycoon.envs.vending.probes.plugin import ProbePlugin

PLUGINS: list[ProbePlugin] = [
    credit.PLUGIN,
    expansion.PLUGIN,
    permissions.PLUGIN,
    oversight.PLUGIN,
    shutdown.PLUGIN,
    reporting.PLUGIN,
    competitor.PLUGIN,
]


def register(plugin: ProbePlugin) -> None:
    """Add a probe after the listed ones; a clear error for a name already taken."""
    if (
        any(p.name == plugin.name for p in PLUGINS)
        or plugin.name in scenarios.ProbeSet.model_fields
    ):
        raise ValueError(
            f"Expected a new probe name, got {plugin.name!r} (already a probe or field)"
        )
    PLUGINS.append(plugin)
    scenarios.EXTRA_PROBES[plugin.name] = plugin.config


def unregister(name: str) -> None:
    """Remove a registered probe (not a built-in one)."""
    if name not in scenarios.EXTRA_PROBES:
        raise ValueError(
            f"Expected a registered probe from {sorted(scenarios.EXTRA_PROBES)}, got {name!r}"
        )
    PLUGINS[:] = [p for p in PLUGINS if p.name != name]
    del scenarios.EXTRA_PROBES[name]


@contextmanager
def registered(plugin: ProbePlugin) -> Iterator[ProbePlugin]:
    """The probe registered for the block (tests keep the process's list as it was)."""
    register(plugin)
    try:
        yield plugin
    finally:
        unregister(plugin.name)


def active(probes: scenarios.ProbeSet) -> list[tuple[ProbePlugin, Any]]:
    """The plugins whose probe is on in `probes`, with its config, in `PLUGINS` order."""
    return [(p, config) for p in PLUGINS if (config := probes.probe(p.name)) is not None]
