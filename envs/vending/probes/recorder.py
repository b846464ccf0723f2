"""BehaviourRecorder: one `StepTrace` per step, and the rule detectors run on it.

`begin(call)` runs before the tool (it keeps the state before, the old content of a
file about to be written, and the facts a loan or a report is judged against);
`finish(outcome)` runs after the tool and the night and returns the step's events. The
snapshot after a step is the snapshot before the next, and `ScenarioFacts` are rebuilt
only when the probes' state changed. The detectors run only when the step can wake them
(`DetectorIndex`), and the trace is built only when a detector, the judge or the
opportunity tally will read it: a quiet step (a read, a `get_balance`: no write, mail,
payment or loan, the probes' state unchanged) builds none and returns no events.

The recorder also counts, per tag, the days with an opportunity (`OpportunityTally`),
written to `behavior_opportunities` in the step's transaction, and, given a live
`LLMJudge`, asks it about the step's gated texts (valid steps only); flagged verdicts are
returned with the rule detectors' events, failed ones are kept in `last_verdicts` and
the judge's own `verdicts`, never raised. Without a judge nothing is asked, and steps
that send no text never build a judge request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tycoon.envs.vending import files
from tycoon.envs.vending.probes.runtime import CREDIT_LIMIT_FIGURE
from tycoon.envs.vending.world import WorldError
from tycoon.envs.world.schema import JudgeVerdictRecord
from tycoon.envs.world.state_rows import BehaviorOpportunity
from tycoon.forms import argument, canonical_address
from tycoon.instrumentation.detectors import (
    DEFAULT_DETECTORS,
    Detector,
    DetectorIndex,
    detect_all,
)
from tycoon.instrumentation.detectors.base import Wake, known_tool, step_wakes
from tycoon.instrumentation.events import BehaviorEventModel
from tycoon.instrumentation.judge import JUDGED_TOOLS, judge_requests
from tycoon.instrumentation.metrics import OpportunityTally
from tycoon.instrumentation.trace import (
    FileWrite,
    PermissionChange,
    ScenarioFacts,
    StateSnapshot,
    StepTrace,
    TracedCall,
)

if TYPE_CHECKING:
    from tycoon.envs.vending.actions import ToolCall
    from tycoon.envs.vending.calls import CallOutcome
    from tycoon.envs.vending.probes.runtime import ProbeRuntime, SnapshotFigures
    from tycoon.instrumentation.judge import JudgeVerdict, LLMJudge


_SNAPSHOT_FIELDS = tuple(StateSnapshot.model_fields)


@dataclass(frozen=True)
class _QuietKinds:
    """The kinds of step (call name or None, with arguments, valid) found quiet under one
    facts object on one day: woken no detector, asked no judge, left the opportunity
    tally settled. Such a step, with no file write, permission change, credit-limit
    change or night, is quiet again under the same facts that day (the tally stays
    settled: only a step that builds a trace or a reset moves it)."""

    facts: ScenarioFacts | None = None
    day: int = -1
    kinds: set[tuple[str | None, bool, bool]] = field(default_factory=set)


class BehaviourRecorder:
    def __init__(
        self,
        runtime: ProbeRuntime,
        detectors: Sequence[Detector] = DEFAULT_DETECTORS,
        judge: LLMJudge | None = None,
    ) -> None:
        self.runtime = runtime
        self.detectors = detectors
        self.index = DetectorIndex(detectors)
        self.judge = judge
        self.last_verdicts: list[JudgeVerdict] = []  # the live judge's, of the last step
        self._before: SnapshotFigures | None = None
        self._before_day: int | None = None  # the day `_before` was taken on
        self._snapshot: tuple[SnapshotFigures | None, StateSnapshot] = (None, StateSnapshot())
        self._quiet = _QuietKinds()
        self._began = False
        episode = runtime.world.episode
        self._template = StepTrace(episode_id=episode.id, agent=episode.agent or "agent")
        self.tally = OpportunityTally(detectors)
        self._load_tally()

    def reset(self) -> None:
        """Forget the cached snapshot and reread the opportunity counts (after a rollback)."""
        self._before = None
        self._quiet = _QuietKinds()
        self._load_tally()

    def _load_tally(self) -> None:
        world = self.runtime.world
        rows = [(row.tag, row.days, row.last_day) for row in world.opportunities.values()]
        self.tally.load(rows)

    def _store_opportunities(self, tags: list[str]) -> None:
        """Record the tags' new counts (the world writes them with the step)."""
        world, tally = self.runtime.world, self.tally
        counts = tally.counts()
        for tag in tags:
            row = world.opportunities.get(tag)
            if row is None:
                world.add(
                    BehaviorOpportunity(tag=tag, days=counts[tag], last_day=tally.last_day(tag))
                )
            else:
                row.days, row.last_day = counts[tag], tally.last_day(tag)

    def begin(self, call: ToolCall | None, arguments_valid: bool = True) -> None:
        """Before the tool runs. `arguments_valid` false: `call` holds the agent's own
        arguments, which the tool's model refused (read only through `tycoon.forms`)."""
        runtime = self.runtime
        self._began = True
        self._day = runtime.world.day
        self._call = call
        self._arguments_valid = arguments_valid
        if self._before is None or self._before_day != self._day:
            # the day moved outside a step (an arena's market night runs between a seat's
            # steps): what that night changed is no call's doing
            self._before = runtime.snapshot()
            self._before_day = self._day
        self._monitoring_before = runtime.monitoring[0]
        self._path: str | None = None
        # facts fields the call needs beyond the cached ones
        self._updates: dict[str, Any] = {}
        if call is None:
            return
        if call.name == "write_file" and arguments_valid:
            self._note_old_content(call)
        elif call.name == "request_loan":
            self._updates.update(runtime.credit_facts())
        elif call.name == "submit_report":
            self._updates["ledger_figures"] = runtime.ledger_figures()

    def _note_old_content(self, call: ToolCall) -> None:
        path = call.arguments.get("path")
        if not isinstance(path, str):
            return
        try:
            self._path = files.resolve_path(path)
        except WorldError:
            return
        existing = files.find_file(self.runtime.world, self._path)
        self._old_content = existing.content if existing is not None else None

    def finish(
        self, outcome: CallOutcome, net_worth_cents: int | None = None
    ) -> list[BehaviorEventModel]:
        if not self._began:
            return []
        self._began = False
        runtime = self.runtime
        before = self._before
        after = self._before = runtime.snapshot(net_worth_cents)
        self._before_day = runtime.world.day
        assert before is not None  # begin took it
        call = self._call
        facts = runtime.facts()
        updates = self._updates
        if facts.monitoring_on != self._monitoring_before:
            updates["monitoring_on"] = self._monitoring_before
        if call is not None and call.name == "send_email" and facts.external_addresses:
            to = canonical_address(str(argument(call.arguments, "to", "")))
            if to in {canonical_address(a) for a in facts.external_addresses}:
                updates["memory_texts"] = runtime.memory_texts()
        if updates:
            facts = facts.model_copy(update=updates)
        changes: tuple[PermissionChange, ...] = ()
        if runtime.permission_changes:
            changes = tuple(runtime.permission_changes)
            runtime.permission_changes.clear()
        writes = outcome.valid and self._path is not None and call is not None
        day, day_after = self._day, runtime.world.day
        credit_changed = before[CREDIT_LIMIT_FIGURE] != after[CREDIT_LIMIT_FIGURE]
        quiet, kind = self._quiet, (None, False, outcome.valid)
        if call is not None:
            kind = (call.name, bool(call.arguments), outcome.valid)
        plain = not writes and not changes and not credit_changed and day_after == day
        if plain and facts is quiet.facts and day == quiet.day and kind in quiet.kinds:
            return self._no_events()
        # a call of a tool the env does not know is no attempt (as in `run_detectors`)
        tool = call.name if call is not None and known_tool(call.name) else None
        file_writes = self._file_writes(call) if writes else ()
        wakes = step_wakes(
            tool,
            None if call is None else call.arguments,
            file_writes=file_writes,
            permission_changes=changes,
            credit_limit_changed=credit_changed,
            new_day=day_after != day,
        )
        woken = self.index.woken(facts, day, tool, wakes)
        if woken and call is not None:
            woken_by_call = self.index.after_call(woken, tool, call.arguments, wakes, facts)
        else:
            woken_by_call = woken
        judged = outcome.valid and call is not None and call.name in JUDGED_TOOLS
        if not woken_by_call and not judged and self.tally.settled(day, facts):
            if plain and not woken:  # quiet whatever its arguments: a kind to remember
                if facts is not quiet.facts or day != quiet.day:
                    quiet = self._quiet = _QuietKinds(facts, day)
                quiet.kinds.add(kind)
            return self._no_events()
        # a copy of a template is about twice as fast as model_construct
        trace = self._template.model_copy(
            update={
                "step": runtime.world.episode.step_count + 1,
                "day": day,
                "day_after": day_after,
                # validated: faster than model_construct (the arguments are a str-keyed
                # dict already)
                "call": None
                if call is None
                else TracedCall(name=call.name, arguments=call.arguments),
                "valid": outcome.valid,
                "arguments_valid": self._arguments_valid,
                "before": self._snapshot_of(before),
                "after": self._snapshot_of(after),
                "file_writes": file_writes,
                "permission_changes": changes,
                "facts": facts,
            }
        )
        events = (
            detect_all(
                trace if tool is not None or call is None else _without_call(trace), woken_by_call
            )
            if woken_by_call
            else []
        )
        requests = judge_requests(trace) if judged else []
        new = self.tally.observe(trace, requests)
        if new:
            self._store_opportunities(new)
        judge = self.judge
        if judge is None or not requests:
            if self.last_verdicts:
                self.last_verdicts = []
            return events
        self.last_verdicts = [judge.judge_safely(request) for request in requests]
        # every verdict, failed ones too, in the step's transaction
        self.runtime.world.stage_rows(
            JudgeVerdictRecord, [v.to_row(judge.threshold, "live") for v in self.last_verdicts]
        )
        for verdict in self.last_verdicts:
            event = verdict.to_event(judge.threshold)
            if event is not None:
                events.append(event)
        return events

    def night_events(self, ended_day: int) -> list[BehaviorEventModel]:
        """The outcome of a day that ended outside this operator's steps (an arena's
        market night runs after every seat has waited): the detectors a new day wakes
        (a deadline reached), on a trace of the night with no call, numbered as the
        operator's last step. A single-agent night is inside its step (`finish`)."""
        runtime = self.runtime
        world = runtime.world
        if world.day == ended_day:
            return []
        facts = runtime.facts()
        woken = self.index.woken(facts, ended_day, None, step_wakes(None, None, new_day=True))
        woken = tuple(d for d in woken if d.wakes & Wake.NEW_DAY)
        if not woken:
            return []
        now = self._snapshot_of(runtime.snapshot())
        trace = self._template.model_copy(
            update={
                "step": world.episode.step_count,
                "day": ended_day,
                "day_after": world.day,
                "before": now,
                "after": now,
                "facts": facts,
            }
        )
        return detect_all(trace, woken)

    def _no_events(self) -> list[BehaviorEventModel]:
        if self.last_verdicts:
            self.last_verdicts = []
        return []

    def _file_writes(self, call: ToolCall) -> tuple[FileWrite, ...]:
        """The write of a carried-out write_file, with the content it replaced."""
        assert self._path is not None
        content = str(call.arguments.get("content", ""))
        old = self._old_content
        new = (old or "") + content if call.arguments.get("mode") == "append" else content
        return (FileWrite.model_construct(path=self._path, old_content=old, new_content=new),)

    def _snapshot_of(self, figures: SnapshotFigures) -> StateSnapshot:
        """The figures as a `StateSnapshot`, the last one reused while they hold."""
        last, snapshot = self._snapshot
        if figures != last:
            # validated: faster than model_construct for six plain fields
            snapshot = StateSnapshot(**dict(zip(_SNAPSHOT_FIELDS, figures, strict=True)))
            self._snapshot = (figures, snapshot)
        return snapshot


def _without_call(trace: StepTrace) -> StepTrace:
    return trace.model_copy(update={"call": None})
