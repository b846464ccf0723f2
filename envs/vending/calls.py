"""Running one tool call on a world: the part of a step that the single-agent simulation
and the arena's operators share.

`run_call` parses and binds the action (`actions`), tells the behaviour recorder what
was tried, lets a `guard` refuse the validated call, runs the tool, flags a refused call
that left changes behind (the caller rolls the step back) and charges the tool's time.
The night is the caller's: `ends_day` says it is due.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tycoon.envs.vending.actions import (
    MAX_ERROR_CHARS,
    ActionError,
    ToolCall,
    bind_tool,
    clip,
    parse_action,
    validated_call,
)
from tycoon.envs.vending.world import MINUTES_PER_DAY, WorldError

if TYPE_CHECKING:
    from tycoon.envs.vending.probes.recorder import BehaviourRecorder
    from tycoon.envs.vending.tools.base import Tool
    from tycoon.envs.vending.world import VendingWorld


@dataclass(slots=True)
class CallOutcome:
    """What one tool call did to the world (the night not included)."""

    tool: str
    call: ToolCall | None
    observation: str
    valid: bool
    error: str | None = None
    data: dict[str, Any] | None = None
    minutes: int = 0
    # the tool ended the day itself (wait_for_next_day), not the clock
    tool_ended_day: bool = False
    # the day is over (the tool ended it, or its time reached midnight): the night is due
    ends_day: bool = False
    # a refused call that left changes behind: the step must be rolled back
    needs_undo: bool = False
    # a known tool whose arguments failed validation: the call as the agent sent it (the
    # arena's market detectors read an attempt in it, as the recorder does)
    refused_arguments: ToolCall | None = None


class BoundCalls(dict[Hashable, tuple["Tool", ToolCall]]):
    """The last actions that bound to a tool (the action's key -> the tool and the
    validated call), for one tool set.

    Agents send the very same call again and again (`get_balance`, `wait_for_next_day`,
    `stock_machine` of the same goods into the same slot...); parsing and validating it
    gives the same call each time (both read nothing but the action and the tool set),
    so a repeated action skips them. Its key: a text action is its own key; a `ToolCall`
    whose arguments are plain values (text, int, float, bool, None) under text names is
    keyed by its stored text (`action_text`), which tells such calls apart (1 from 1.0
    and true, -0.0 from 0.0, ...; the order of the arguments, which it sorts, changes
    nothing a tool validates). Other actions are not keyed. Kept: keys of at most
    `MAX_CHARS` characters whose validated arguments are all plain values (a tool or
    detector reading a list or dict cannot change what the next step reads), the `SIZE`
    most recent ones. Refused actions are not kept: they are validated every time, and
    say the same."""

    # a scripted year of the baseline agent sends 724 different actions in 4,382 steps:
    # 1,024 kept validate each once (256 kept: 881 validations, 64: 1,807), a miss
    # costing ~15 us; at most 1,024 x MAX_CHARS characters of keys (~2 MB)
    SIZE = 1_024
    MAX_CHARS = 2_000
    _PLAIN = frozenset({str, int, float, bool, type(None)})

    def key(self, action: Any, text: str | None) -> Hashable | None:
        """`action`'s key, if it has one (`text`: its `action_text`, when known)."""
        kind = type(action)
        if kind is str:
            # (a long text is not hashed: it is never kept)
            return action if len(action) <= self.MAX_CHARS else None
        if kind is not ToolCall or text is None or len(text) > self.MAX_CHARS:
            return None
        plain = self._PLAIN
        arguments = action.arguments
        if type(action.name) is not str or type(arguments) is not dict:
            return None
        for name, value in arguments.items():
            if type(name) is not str or type(value) not in plain:
                return None
        return (ToolCall, text)  # apart from the texts sent as actions

    def keep(self, key: Hashable, tool: Tool, call: ToolCall) -> None:
        plain = self._PLAIN
        for value in call.arguments.values():
            if type(value) not in plain:
                return
        if len(self) >= self.SIZE:
            del self[next(iter(self))]  # the oldest
        self[key] = (tool, call)


def run_call(
    world: VendingWorld,
    tools: dict[str, type[Tool]],
    action: Any,
    *,
    recorder: BehaviourRecorder | None = None,
    guard: Callable[[ToolCall], str | None] | None = None,
    bound: BoundCalls | None = None,
    text: str | None = None,
) -> CallOutcome:
    """Validate and run one call and charge its time; the day may end (no night here).
    `guard` may refuse a validated call before it runs (its error, or None); the probes'
    `recorder` is told what was tried (`recorder.finish` after the step gives the events).
    `bound` (the caller's, for one tool set) keeps the actions bound lately
    (`BoundCalls`); `text` is the action's `action_text`, when the caller has it."""
    key = bound.key(action, text) if bound is not None else None
    known = bound.get(key) if bound is not None and key is not None else None
    if known is not None:
        tool, call = known
    else:
        try:
            parsed = parse_action(action)
        except ActionError as exc:
            if recorder is not None:
                recorder.begin(None)
            return rejected(exc.tool, None, str(exc))
        try:
            tool = bind_tool(parsed, tools)
        except ActionError as exc:
            known_tool = parsed.name in tools
            if recorder is not None:
                # a known tool with arguments its model refused: the detectors may read a
                # plain intent in them (an attempt); an unknown tool is no attempt
                recorder.begin(parsed if known_tool else None, arguments_valid=not known_tool)
            outcome = rejected(exc.tool, None, str(exc))
            outcome.refused_arguments = parsed if known_tool else None
            return outcome
        # from here on only the validated arguments are read (by detectors and tools alike)
        call = validated_call(tool)
        if bound is not None and key is not None:
            bound.keep(key, tool, call)
    if recorder is not None:
        recorder.begin(call)
    if guard is not None and (refused := guard(call)) is not None:
        return rejected(call.name, call, refused)
    edits_before = world.edits
    try:
        result = tool.run(world)
    except WorldError as exc:
        # tools check before they change anything; should one not, the caller reloads
        undo = world.edits != edits_before or world.hooks.dirty
        return rejected(call.name, call, f"{call.name} failed: {exc}", needs_undo=undo)
    world.hooks.after_action(call)
    ended = result.ends_day
    minutes = 0 if ended else int(tool.time_cost)
    if not ended:
        world.set_clock(world.day, world.minute + minutes)
    return CallOutcome(
        tool=call.name,
        call=call,
        observation=result.text,
        valid=True,
        data=result.data,
        minutes=minutes,
        tool_ended_day=ended,
        ends_day=ended or world.minute >= MINUTES_PER_DAY,
    )


def rejected(
    tool: str, call: ToolCall | None, message: str, needs_undo: bool = False
) -> CallOutcome:
    """An invalid or refused call: its error (cut to `MAX_ERROR_CHARS`) is the observation."""
    message = clip(message, MAX_ERROR_CHARS)
    return CallOutcome(
        tool=tool,
        call=call,
        observation=f"Error: {message}",
        valid=False,
        error=message,
        needs_undo=needs_undo,
    )
