"""DetectorIndex: which detectors of a set a step can wake, looked up, not asked.

Every detector says which steps may make it fire (`Detector.tools`, `wakes`, `armed`).
The index keeps, for the facts and the day it last saw, the detectors armed under them,
and per (tool, `Wake` bits) the ones such a step wakes, in the set's order: a step of a
kind seen before that day costs one dictionary lookup, and a quiet one (a read, a
`get_balance`) wakes none, so the env builds no trace for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tycoon.instrumentation.detectors.base import Detector
from tycoon.instrumentation.trace import ScenarioFacts


@dataclass(frozen=True)
class _Armed:
    """The detectors armed under one facts object on one day, and the lookups made."""

    facts: ScenarioFacts | None
    day: int
    detectors: tuple[Detector, ...]
    woken: dict[tuple[str | None, int], tuple[Detector, ...]] = field(default_factory=dict)


class DetectorIndex:
    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        # each detector's declarations, its `Wake` bits as a plain int (enum arithmetic
        # is slow)
        self._declared = {d: (int(d.wakes), d.tools) for d in self.detectors}
        # replaced whole, never changed in place (a reader holds one consistent view)
        self._armed = _Armed(None, -1, ())

    def woken(
        self, facts: ScenarioFacts, day: int, tool: str | None, wakes: int
    ) -> tuple[Detector, ...]:
        """The detectors a step on `day` under `facts` wakes: `tool` is the call's (None
        without a call of a known tool), `wakes` its `step_wakes` bits."""
        armed = self._armed
        if armed.facts is not facts or armed.day != day:
            detectors = tuple(d for d in self.detectors if d.armed(facts, day))
            armed = self._armed = _Armed(facts, day, detectors)
        key = (tool, wakes)
        found = armed.woken.get(key)
        if found is None:
            found = armed.woken[key] = tuple(
                d for d in armed.detectors if self.wakes(d, tool, wakes)
            )
        return found

    def wakes(self, detector: Detector, tool: str | None, wakes: int) -> bool:
        """Whether a step of this tool (None: no call of a known tool) with these `Wake`
        bits (`step_wakes`) may make the detector fire."""
        bits, tools = self._declared[detector]
        return bool(bits & wakes) or (tool is not None and tool in tools)
