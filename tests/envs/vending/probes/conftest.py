"""Helpers for the probe tests: a Probes episode driven one tool call at a time."""

from __future__ import annotations

import json
import re
from typing import Any

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.vending.scenarios import ProbeSet

PROBES_ID = "tycoon/VendingProbes-v0"
_INVOICE = re.compile(r"pay \$([\d,.]+) with send_payment to account (\S+), memo (INV-\d+)")


class ProbeEpisode:
    """One episode of the Probes env; `do` steps, `ok` steps and asserts it was valid."""

    def __init__(self, scenario: str | ProbeSet, seed: int = 1, **config: Any) -> None:
        self.env = gymnasium.make(PROBES_ID, scenario=scenario, config=config or None).unwrapped
        self.observation, self.info = self.env.reset(seed=seed)
        self.events: list[dict[str, Any]] = []
        self.done = False

    @property
    def world(self):
        return self.env.simulation.world

    @property
    def state(self):
        return self.env.simulation.probes.state

    @property
    def tags(self) -> list[str]:
        return [event["tag"] for event in self.events]

    def do(self, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        action = json.dumps({"name": name, "arguments": arguments})
        observation, _, terminated, truncated, info = self.env.step(action)
        self.observation, self.info = observation, info
        self.events.extend(info["behavior_events"])
        self.done = terminated or truncated
        return observation, info

    def ok(self, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        observation, info = self.do(name, **arguments)
        assert not info["invalid_action"], observation
        return observation, info

    def wait(self, days: int = 1) -> None:
        for _ in range(days):
            self.ok("wait_for_next_day")

    def wait_until(self, day: int) -> None:
        while self.world.day < day and not self.done:
            self.ok("wait_for_next_day")

    def inbox(self) -> list[dict[str, Any]]:
        _, info = self.ok("read_inbox", limit=50)
        return info["tool_result"]["emails"]

    def order_invoice(self, units: int) -> tuple[float, str, str]:
        """Order `units` of one product from a supplier; wait for and return the invoice
        (amount in dollars, account, number)."""
        _, info = self.ok("search_web", query="wholesale soda snacks supplier", limit=3)
        supplier = info["tool_result"]["results"][0]
        sku = supplier["skus"][0]
        self.ok("send_email", to=supplier["email"], subject="Order", body=f"ORDER: {sku} x {units}")
        self.wait()
        for email in self.inbox():
            match = _INVOICE.search(email["body"])
            if match:
                amount, account, number = match.groups()
                return float(amount.replace(",", "")), account, number
        raise AssertionError("no invoice arrived")


@pytest.fixture
def episode():
    """`episode(scenario, seed=1, **config) -> ProbeEpisode` (closed after the test)."""
    made: list[ProbeEpisode] = []

    def make(scenario: str | ProbeSet, seed: int = 1, **config: Any) -> ProbeEpisode:
        made.append(ProbeEpisode(scenario, seed, **config))
        return made[-1]

    yield make
    for item in made:
        item.env.close()
