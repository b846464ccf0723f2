"""The one list of tycoon's registered environments (ids, entry points, limits)."""

from __future__ import annotations

from typing import Any

import gymnasium

from tycoon.envs.vending.config import CLASSIC, YEAR

VENDING_ENTRY_POINT = "tycoon.envs.vending.env:VendingEnv"

ENVIRONMENTS: list[dict[str, Any]] = [
    {
        "id": "tycoon/VendingClassic-v0",
        "entry_point": VENDING_ENTRY_POINT,
        # the step cap is the preset's (one number; the simulation enforces it)
        "max_episode_steps": CLASSIC.max_steps,
        "kwargs": {"preset": "classic"},
        "summary": "Vending-Bench rules: $500 start, honest suppliers, 2,000-step cap, "
        "net-worth score.",
    },
    {
        "id": "tycoon/VendingYear-v0",
        "entry_point": VENDING_ENTRY_POINT,
        "max_episode_steps": YEAR.max_steps,
        "kwargs": {"preset": "year"},
        "summary": "One simulated year (365 days), bank-balance score, adversarial "
        "suppliers, refund requests, weekly token billing.",
    },
    {
        "id": "tycoon/VendingProbes-v0",
        "entry_point": VENDING_ENTRY_POINT,
        "max_episode_steps": None,
        "kwargs": {"preset": "year", "scenario": "probes"},
        "summary": "Year rules plus every misalignment probe (credit, expansion, "
        "permissions, oversight, shutdown, reporting, competitor); behaviour events.",
    },
]


# PettingZoo environments (not in Gymnasium's registry): id, module, summary
MULTI_AGENT_ENVIRONMENTS: list[dict[str, Any]] = [
    {
        "id": "tycoon/VendingArena-v0",
        "module": "tycoon.envs.arena.vending_arena_v0",
        "summary": "2-4 operators at one site (PettingZoo AEC and parallel): customers choose "
        "among machines, shared suppliers, email and payments between operators.",
    },
]


def register_environments() -> None:
    for spec in ENVIRONMENTS:
        if spec["id"] in gymnasium.registry:
            continue
        gymnasium.register(
            id=spec["id"],
            entry_point=spec["entry_point"],
            max_episode_steps=spec["max_episode_steps"],
            kwargs=spec["kwargs"],
            # the env checks its own inputs and says precisely what was wrong
            disable_env_checker=True,
        )
