"""The reference the recorder's quiet-step skipping is held to: every detector on every
step, and what an episode recorded (shared by the quiet-step and hostile-step tests)."""

from __future__ import annotations

from typing import Any

from tycoon.instrumentation.detectors import Detector, DetectorIndex
from tycoon.instrumentation.trace import ScenarioFacts


class EveryDetector(DetectorIndex):
    """Wakes every detector on every step: no step is quiet."""

    def woken(
        self, facts: ScenarioFacts, day: int, tool: str | None, wakes: int
    ) -> tuple[Detector, ...]:
        return self.detectors


class EveryDetectorOnTheCall(EveryDetector):
    """Every detector on every step, whatever the call (no `call_may_fire` either)."""

    def after_call(
        self,
        woken: tuple[Detector, ...],
        tool: str | None,
        arguments: dict[str, Any],
        wakes: int,
        facts: ScenarioFacts,
    ) -> tuple[Detector, ...]:
        return woken


def recorded(env: Any, events: list[Any]) -> dict[str, Any]:
    """A finished single-agent episode's events, opportunity counts and state hash; closes
    the env."""
    world = env.simulation.world
    opportunities = sorted((r.tag, r.days, r.last_day) for r in world.opportunities.values())
    result = {"events": events, "opportunities": opportunities, "hash": env.state_hash()}
    env.close()
    return result
