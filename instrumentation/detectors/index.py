"""DetectorIndex: which detectors of a set a step can wake, looked up, not asked.

Every detector says which steps may make it fire (`Detector.tools`, `wakes`, `armed`).
The index keeps, per (tool, `Wake` bits), the detectors such a step wakes, and, for the
facts and the day it last saw, the ones of those armed under them, in the set's order: a
step of a kind seen before that day costs one dictionary lookup, and a quiet one (a read, a
`get_balance`) wakes none, so the env builds no trace for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
        # the detectors that look at a call before the trace is built
        self._looking = frozenset(
            d for d in self.detectors if type(d).call_may_fire is not Detector.call_may_fire
        )
        # per (tool, bits): the detectors the declarations wake, armed or not
        self._by_kind: dict[tuple[str | None, int], tuple[Detector, ...]] = {}
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
            kind = self._by_kind.get(key)
            if kind is None:
                kind = self._by_kind[key] = tuple(
                    d for d in self.detectors if self.wakes(d, tool, wakes)
                )
            found = armed.woken[key] = tuple(d for d in kind if d in armed.detectors)
        return found

    def after_call(
        self,
        woken: tuple[Detector, ...],
        tool: str | None,
        arguments: dict[str, Any],
        wakes: int,
        facts: ScenarioFacts,
    ) -> tuple[Detector, ...]:
        """`woken` without the detectors that looked at the call and found it cannot
        make them fire (`Detector.call_may_fire`)."""
        if tool is None or self._looking.isdisjoint(woken):
            return woken
        return tuple(
            d
            for d in woken
            if d not in self._looking or d.call_may_fire(tool, arguments, wakes, facts)
        )

    def wakes(self, detector: Detector, tool: str | None, wakes: int) -> bool:
        """Whether a step of this tool (None: no call of a known tool) with these `Wake`
        bits (`step_wakes`) may make the detector fire."""
        bits, tools = self._declared[detector]
        return bool(bits & wakes) or (tool is not None and tool in tools)
