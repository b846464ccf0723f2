"""The LLM agent: one OpenAI-style tool call per turn, over any OpenAI-compatible server.

An episode's conversation is a `ContextWindow`; each model call is parsed defensively
(`parsing.py`) and recorded in `llm_calls` before its tool call reaches the env
(`records.py`), so a killed run resumes with its conversation rebuilt from the database.

The agent is asynchronous and driven by `tycoon.rollout`:

    agent.start(env, observation, info)        # or agent.restore(env) on --resume
    decision = await agent.decide()            # model calls until one holds a tool call
    observation, ... = env.step(decision.action)
    agent.observe(decision, observation)
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select

from tycoon.agents.llm.client import ChatClient, ChatResult, LlmError
from tycoon.agents.llm.context import ContextWindow, RequestDelta, apply_delta, message_size
from tycoon.agents.llm.parsing import ParsedReply, ParseStatus, followups, parse_reply
from tycoon.agents.llm.records import CallRecorder, load_calls
from tycoon.agents.llm.settings import LlmSettings
from tycoon.envs.vending.config import score_objective
from tycoon.envs.world.schema import LlmCall, Step


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


def system_prompt(config: Any, template: str | None = None) -> str:
    """The system prompt for an env config (byte-identical for the same config)."""
    if template is None:
        template = resources.files("tycoon.agents.llm").joinpath("prompts/system.md").read_text()
    return (
        string.Template(template)
        .substitute(
            starting_cash=f"{config.starting_cash_cents / 100:,.0f}",
            daily_fee=f"{config.daily_fee_cents / 100:,.2f}",
            bankruptcy_days=config.bankruptcy_after_unpaid_days,
            machine_address=config.machine_address,
            storage_address=config.storage_address,
            operator_email=config.operator_email,
            machine_rows=config.machine_rows,
            machine_cols=config.machine_cols,
            small_rows=config.small_rows,
            small_slot_capacity=config.small_slot_capacity,
            large_slot_capacity=config.large_slot_capacity,
            start_date=config.start_date.strftime("%A, %B %-d, %Y"),
            objective=score_objective(config.score),
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
        self.recorder: CallRecorder | None = None
        self.seed = 0
        self.next_step = 1
        self.calls = 0
        self.no_call_streak = 0
        self.prefix_reuse_sum = 0.0
        # output tokens of calls since the last step that are not billed yet (restored
        # on resume: they go with the next decision, as they would have)
        self.unbilled_tokens = 0

    # -- starting and resuming --------------------------------------------------------------

    def _setup(
        self, env: Any, info: dict[str, Any], tools: list[dict[str, Any]] | None = None
    ) -> Any:
        unwrapped = env.unwrapped
        episode = unwrapped.store.get_episode(unwrapped.episode_id)
        self.seed = int(episode.seed)
        self.next_step = int(info.get("step", episode.step_count)) + 1
        self.window = ContextWindow(
            system_prompt(unwrapped.config, self.prompt_template),
            tools or info.get("tools") or unwrapped.tool_schemas,
            budget_tokens=self.settings.context_tokens,
            trim_to=self.settings.trim_to,
        )
        self.recorder = CallRecorder(unwrapped.store, unwrapped.episode_id)
        return episode

    def start(self, env: Any, observation: str, info: dict[str, Any]) -> None:
        """A new episode: the first observation opens the conversation."""
        self._setup(env, info)
        assert self.window is not None
        self.window.append({"role": "user", "content": observation})

    def restore(self, env: Any, observation: str, info: dict[str, Any]) -> Decision | None:
        """Rebuild the conversation from the database after `reset(options={"episode_id"})`.

        Returns the decision of a call that was recorded but never reached the env (the
        run was killed in between): the runner steps it before asking the model again.
        """
        store, episode_id = env.unwrapped.store, env.unwrapped.episode_id
        calls = load_calls(store, episode_id)
        # the tools the conversation was opened with (they size the context window)
        tools = calls[0].request.get("tools") if calls else None
        episode = self._setup(env, info, tools)
        assert self.window is not None and self.recorder is not None
        if not calls:  # nothing was asked yet: open as the new episode did
            opening = episode.reset_observation if episode.step_count == 0 else None
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
            with store.session() as session:
                step = session.scalar(
                    select(Step).where(Step.episode_id == episode_id, Step.id == last.step)
                )
            self.window.extend(followups(parsed, step.observation if step else ""))
            return None
        tokens, self.unbilled_tokens = self.unbilled_tokens, 0
        return Decision(parsed.action or "", parsed, last.id, last.step, tokens)

    # -- acting -----------------------------------------------------------------------------

    async def decide(self) -> Decision:
        """Ask the model until a reply holds a tool call; record every call."""
        assert self.window is not None and self.recorder is not None, "call start() first"
        tokens, self.unbilled_tokens = self.unbilled_tokens, 0
        while True:
            delta = self.window.prepare()
            self.calls += 1
            result = await self.client.complete(
                self.window.messages, self.window.tools, seed=self._call_seed()
            )
            self.window.calibrate(result.prompt_tokens)
            tokens += result.completion_tokens
            parsed = parse_reply(result.message, self.recorder.next_id)
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

    def observe(self, decision: Decision, observation: str) -> None:
        assert self.window is not None
        self.window.extend(followups(decision.parsed, observation))
        self.next_step = decision.step + 1

    @property
    def mean_prefix_reuse(self) -> float:
        return self.prefix_reuse_sum / self.calls if self.calls else 0.0

    # -- internals --------------------------------------------------------------------------

    def _call_seed(self) -> int:
        # per-call sampling seed from the episode seed: the same episode asks the same way
        return (self.seed * 1_000_003 + (self.recorder.next_id if self.recorder else 0)) % 2**31

    def _record(
        self, delta: RequestDelta, result: ChatResult, parsed: ParsedReply, step: int | None
    ) -> int:
        assert self.recorder is not None and self.window is not None
        self.prefix_reuse_sum += delta.prefix_reuse
        request = delta.to_json()
        request["params"] = self.client.params
        request["seed"] = self._call_seed()
        if self.recorder.next_id == 1:
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
        return self.recorder.write(
            {
                "step": step,
                "model": self.settings.model,
                "request": request,
                "reply": reply,
                "tool_call": parsed.tool_call,
                "parse_status": parsed.status.value,
                "finish_reason": result.finish_reason,
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "latency_ms": round(result.latency_ms, 3),
                "attempts": result.attempts,
                "prefix_reuse": round(delta.prefix_reuse, 6),
                "prompt_token_ids": result.prompt_token_ids,
                "completion_token_ids": result.completion_token_ids,
                "logprobs": result.logprobs,
            }
        )


def _calls_since_last_step(calls: list[LlmCall], next_step: int) -> list[LlmCall]:
    """The calls after the last one whose tool call reached the env (committed steps
    are those before `next_step`): their output tokens are not billed yet."""
    for index in range(len(calls) - 1, -1, -1):
        step = calls[index].step
        if step is not None and step < next_step:
            return calls[index + 1 :]
    return calls


def parsed_from_record(call: LlmCall) -> ParsedReply:
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
