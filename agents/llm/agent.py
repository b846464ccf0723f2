"""The LLM agent: one OpenAI-style tool call per turn, over any OpenAI-compatible server.

An episode's conversation is a `ContextWindow`; each model call is parsed defensively
(`parsing.py`) and its record (`CallRecord`) handed to the runner's journal before its
tool call reaches the env, so a killed run resumes with its conversation rebuilt from
the records. It sees the env only through its API: the system prompt is built from
`info["briefing"]`, the tools from `info["tools"]`, the sampling seeds from
`info["seed"]`.

The agent is an `AsyncAgent` (`tycoon.agents.base`), driven by `tycoon.rollout`:

    agent.start(observation, info, journal)    # or agent.restore(history, ...) on --resume
    decision = await agent.decide()            # model calls until one holds a tool call
    observation, ..., info = env.step(decision.action)
    agent.observe(decision, observation, info)
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from tycoon.agents.base import AgentHistory, CallJournal, CallRecord, NoJournal
from tycoon.agents.llm.client import ChatClient, ChatResult, LlmError
from tycoon.agents.llm.context import ContextWindow, RequestDelta, apply_delta, message_size
from tycoon.agents.llm.parsing import ParsedReply, ParseStatus, followups, parse_reply
from tycoon.agents.llm.settings import LlmSettings


class AgentStalled(LlmError):
    """The model kept answering without a tool call."""


@dataclass
class Decision:
    """A tool call for the env, and what it cost to get it."""

    action: dict[str, Any] | str
    parsed: ParsedReply
    call_id: int
    step: int
    completion_tokens: int  # over every call since the previous decision


def system_prompt(briefing: dict[str, Any], template: str | None = None) -> str:
    """The system prompt for an episode's briefing (`info["briefing"]` at reset),
    byte-identical for the same briefing."""
    if template is None:
        template = resources.files("tycoon.agents.llm").joinpath("prompts/system.md").read_text()
    return (
        string.Template(template)
        .substitute(
            starting_cash=f"{briefing['starting_cash_cents'] / 100:,.0f}",
            daily_fee=f"{briefing['daily_fee_cents'] / 100:,.2f}",
            bankruptcy_days=briefing["bankruptcy_after_unpaid_days"],
            machine_address=briefing["machine_address"],
            storage_address=briefing["storage_address"],
            operator_email=briefing["operator_email"],
            machine_rows=briefing["machine_rows"],
            machine_cols=briefing["machine_cols"],
            small_rows=briefing["small_rows"],
            small_slot_capacity=briefing["small_slot_capacity"],
            large_slot_capacity=briefing["large_slot_capacity"],
            start_date=date.fromisoformat(briefing["start_date"]).strftime("%A, %B %-d, %Y"),
            objective=briefing["objective"],
        )
        .strip()
    )


class LlmAgent:
    """One episode's LLM agent. Make one per episode; share the `ChatClient`."""

    def __init__(
        self, settings: LlmSettings, client: ChatClient, *, prompt_template: str | None = None
    ) -> None:
        self.name = "openai"
        self.settings = settings
        self.client = client
        self.prompt_template = prompt_template
        self.window: ContextWindow | None = None
        self.journal: CallJournal = NoJournal()
        self.seed = 0
        self.next_step = 1
        self.next_call_id = 1
        self.calls = 0
        self.no_call_streak = 0
        self.prefix_reuse_sum = 0.0
        # output tokens of calls since the last step that are not billed yet (restored
        # on resume: they go with the next decision, as they would have)
        self.unbilled_tokens = 0

    # -- starting and resuming --------------------------------------------------------------

    def _setup(
        self,
        info: dict[str, Any],
        journal: CallJournal | None,
        tools: list[dict[str, Any]] | None = None,
    ) -> None:
        for key in ("seed", "briefing", "tools"):
            if key not in info:
                raise ValueError(
                    f"Expected the reset info to hold {key!r} (seed, briefing, tools), got "
                    f"keys {sorted(info)}"
                )
        self.seed = int(info["seed"])
        self.next_step = int(info.get("step", 0)) + 1
        self.window = ContextWindow(
            system_prompt(info["briefing"], self.prompt_template),
            tools or info["tools"],
            budget_tokens=self.settings.context_tokens,
            trim_to=self.settings.trim_to,
        )
        self.journal = journal if journal is not None else NoJournal()

    def start(
        self, observation: str, info: dict[str, Any], journal: CallJournal | None = None
    ) -> None:
        """A new episode: the first observation opens the conversation."""
        self._setup(info, journal)
        assert self.window is not None
        self.window.append({"role": "user", "content": observation})

    def restore(
        self,
        history: AgentHistory,
        observation: str,
        info: dict[str, Any],
        journal: CallJournal | None = None,
    ) -> Decision | None:
        """Rebuild the conversation from the recorded calls after a resumed reset.

        Returns the decision of a call that was recorded but never reached the env (the
        run was killed in between): the runner steps it before asking the model again.
        """
        calls = history.calls
        # the tools the conversation was opened with (they size the context window)
        tools = calls[0].request.get("tools") if calls else None
        self._setup(info, journal, tools)
        assert self.window is not None
        if not calls:  # nothing was asked yet: open as the new episode did
            opening = history.reset_observation if not history.steps else None
            self.window.append({"role": "user", "content": opening or observation})
            return None
        messages: list[dict[str, Any]] = []
        counted: tuple[list[dict[str, Any]], int] | None = None  # last request with a count
        for call in calls:
            messages = apply_delta(messages, call.request)
            if call.prompt_tokens > 0:
                counted = (messages, call.prompt_tokens)
        calibration = None  # (prompt chars, prompt tokens)
        if counted is not None:
            calibration = (sum(message_size(m) for m in counted[0]), counted[1])
        opening = calls[0].request["append"][1] if len(calls[0].request["append"]) > 1 else None
        self.window.restore(messages, opening=opening, calibration=calibration)
        self.calls = len(calls)
        self.next_call_id = calls[-1].id + 1
        self.prefix_reuse_sum = sum(c.prefix_reuse for c in calls)
        since_step = _calls_since_last_step(calls, self.next_step)
        self.unbilled_tokens = sum(c.completion_tokens for c in since_step)
        self.no_call_streak = sum(1 for c in since_step if c.step is None)
        last = calls[-1]
        parsed = parsed_from_record(last)
        self.window.append(parsed.message)
        if last.step is None:
            self.window.extend(followups(parsed, None))
            return None
        if last.step < self.next_step:  # it reached the env: answer it with the result
            reached = history.steps[last.step - 1] if last.step <= len(history.steps) else None
            self.window.extend(followups(parsed, reached.observation if reached else ""))
            return None
        tokens, self.unbilled_tokens = self.unbilled_tokens, 0
        return Decision(parsed.action or "", parsed, last.id, last.step, tokens)

    # -- acting -----------------------------------------------------------------------------

    async def decide(self) -> Decision:
        """Ask the model until a reply holds a tool call; journal every call."""
        assert self.window is not None, "call start() first"
        tokens, self.unbilled_tokens = self.unbilled_tokens, 0
        while True:
            delta = self.window.prepare()
            self.calls += 1
            result = await self.client.complete(
                self.window.messages, self.window.tools, seed=self._call_seed()
            )
            self.window.calibrate(result.prompt_tokens)
            tokens += result.completion_tokens
            parsed = parse_reply(result.message, self.next_call_id)
            step = None if parsed.status is ParseStatus.NO_CALL else self.next_step
            call_id = self._record(delta, result, parsed, step)
            self.window.append(parsed.message)
            if step is not None:
                self.no_call_streak = 0
                assert parsed.action is not None
                return Decision(parsed.action, parsed, call_id, step, tokens)
            self.no_call_streak += 1
            self.window.extend(followups(parsed, None))
            if self.no_call_streak >= self.settings.max_consecutive_no_call:
                raise AgentStalled(
                    f"{self.no_call_streak} replies in a row without a tool call; "
                    "the episode stops here and can be resumed"
                )

    def observe(
        self, decision: Decision, observation: str, info: dict[str, Any] | None = None
    ) -> None:
        assert self.window is not None
        self.window.extend(followups(decision.parsed, observation))
        self.next_step = decision.step + 1

    @property
    def mean_prefix_reuse(self) -> float:
        return self.prefix_reuse_sum / self.calls if self.calls else 0.0

    # -- internals --------------------------------------------------------------------------

    def _call_seed(self) -> int:
        # per-call sampling seed from the episode seed: the same episode asks the same way
        return (self.seed * 1_000_003 + self.next_call_id) % 2**31

    def _record(
        self, delta: RequestDelta, result: ChatResult, parsed: ParsedReply, step: int | None
    ) -> int:
        """Hand the call's record to the journal (durable before the tool call reaches the
        env); return the call's id."""
        assert self.window is not None
        self.prefix_reuse_sum += delta.prefix_reuse
        request = delta.to_json()
        request["params"] = self.client.params
        request["seed"] = self._call_seed()
        if self.next_call_id == 1:
            request["tools"] = self.window.tools
        reply = {
            "received": result.message,
            "message": parsed.message,
            "call_id": parsed.call_id,
            "ignored_call_ids": parsed.ignored_call_ids,
            "calls_seen": parsed.calls_seen,
            "response_id": result.response_id,
            "trimmed": delta.trimmed,
        }
        call_id = self.next_call_id
        self.journal.write(
            CallRecord(
                id=call_id,
                step=step,
                model=self.settings.model,
                request=request,
                reply=reply,
                tool_call=parsed.tool_call,
                parse_status=parsed.status.value,
                finish_reason=result.finish_reason,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_ms=round(result.latency_ms, 3),
                attempts=result.attempts,
                prefix_reuse=round(delta.prefix_reuse, 6),
                prompt_token_ids=result.prompt_token_ids,
                completion_token_ids=result.completion_token_ids,
                logprobs=result.logprobs,
            )
        )
        self.next_call_id += 1
        return call_id


def _calls_since_last_step(calls: list[CallRecord], next_step: int) -> list[CallRecord]:
    """The calls after the last one whose tool call reached the env (committed steps
    are those before `next_step`): their output tokens are not billed yet."""
    for index in range(len(calls) - 1, -1, -1):
        step = calls[index].step
        if step is not None and step < next_step:
            return calls[index + 1 :]
    return calls


def parsed_from_record(call: Any) -> ParsedReply:
    """The parsed reply of a recorded call (a `CallRecord` or an `llm_calls` row)."""
    reply = call.reply
    tool_call = call.tool_call
    action: dict[str, Any] | str | None
    if tool_call is None:
        action = None
    elif "raw" in tool_call and "name" not in tool_call:
        action = tool_call["raw"]
    else:
        action = tool_call
    return ParsedReply(
        status=ParseStatus(call.parse_status),
        action=action,
        message=reply["message"],
        call_id=reply.get("call_id"),
        ignored_call_ids=list(reply.get("ignored_call_ids") or []),
        calls_seen=int(reply.get("calls_seen") or 0),
    )
