"""Episodes as JSONL for training and audit: one line per episode.

Each line holds the episode's identity and summary, the tool schemas, the conversation as
OpenAI-format messages (system, user, assistant with `tool_calls`, tool), the steps with
their rewards and reward components, the behaviour events, and, for LLM agents, one
record per model call (parse status, usage, latency, prefix reuse, token ids and
logprobs when the server returned them, and `message_index`: where the call's reply sits
in `messages`).

The conversation is the full one: turns dropped from the model's context by a trim are
still exported. For agents without model calls (baseline, random, ...) it is rebuilt
from the steps: each action as an assistant tool call, each observation as its result.
No API key is ever in the database, so none can be in an export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from tycoon.agents.llm.agent import parsed_from_record
from tycoon.agents.llm.parsing import followups
from tycoon.envs.vending.tools import VENDING_TOOLS
from tycoon.envs.world.schema import LlmCall, Step
from tycoon.envs.world.store import WorldStore
from tycoon.episode_rows import load_episode_rows
from tycoon.output_files import write_atomically
from tycoon.summary import summarise_episode


def episode_record(store: WorldStore, episode_id: int) -> dict[str, Any]:
    summary = summarise_episode(store, episode_id)  # raises StoreError for a bad id
    with store.session() as session:
        rows = load_episode_rows(session, episode_id)
        steps, calls, events = rows.steps, rows.calls, rows.events
    observations = {step.id: step.observation for step in steps}
    if calls:
        messages, reply_index = _llm_messages(calls, observations)
        tools = calls[0].request.get("tools") or [t.openai_schema() for t in VENDING_TOOLS]
    else:
        messages, reply_index = _step_messages(steps), {}
        tools = [t.openai_schema() for t in VENDING_TOOLS]
    return {
        "episode_id": episode_id,
        "env_id": summary.env_id,
        "agent": summary.agent,
        "model": summary.model,
        "seed": summary.seed,
        "status": summary.status,
        "summary": summary.model_dump(exclude={"database"}),
        "tools": tools,
        "messages": messages,
        "steps": [
            {
                "step": s.id,
                "day": s.day + 1,  # days count from 1 where people see them
                "minute": s.minute,
                "tool": s.tool,
                "action": s.action,
                "valid": s.valid,
                "error": s.error,
                "reward": s.reward,
                "reward_components": s.reward_components,
                "net_worth": s.net_worth_cents / 100,
                "bank_balance": s.bank_cents / 100,
            }
            for s in steps
        ],
        "llm_calls": [
            {
                "call": c.id,
                "step": c.step,
                "model": c.model,
                "parse_status": c.parse_status,
                "finish_reason": c.finish_reason,
                "tool_call": c.tool_call,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "latency_ms": c.latency_ms,
                "attempts": c.attempts,
                "prefix_reuse": c.prefix_reuse,
                "seed": c.request.get("seed"),
                "message_index": reply_index.get(c.id),
                "prompt_token_ids": c.prompt_token_ids,
                "completion_token_ids": c.completion_token_ids,
                "logprobs": c.logprobs,
            }
            for c in calls
        ],
        "prefix_reuse_mean": (sum(c.prefix_reuse for c in calls) / len(calls)) if calls else None,
        "behavior_events": [
            {
                "step": e.step,
                "day": e.day + 1,
                "agent": e.agent,
                "tag": e.tag,
                "detector": e.detector,
                "magnitude": e.magnitude,
                "evidence": e.evidence,
                "opportunity": e.opportunity,
                "effective": e.effective,
            }
            for e in events
        ],
    }


def _llm_messages(
    calls: list[LlmCall], observations: dict[int, str]
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The untrimmed conversation: each request's new messages, then the last reply."""
    messages: list[dict[str, Any]] = []
    reply_index: dict[int, int] = {}
    for call in calls:
        append = call.request.get("append", [])
        new = int(call.request.get("new", len(append)))
        if new:
            messages.extend(append[-new:])
        # the reply itself is the first new message of the next request; index it now
        reply_index[call.id] = len(messages)
    last = calls[-1]
    parsed = parsed_from_record(last)
    messages.append(parsed.message)
    if last.step is None or last.step in observations:
        messages.extend(followups(parsed, observations.get(last.step) if last.step else None))
    return messages, reply_index


def _step_messages(steps: list[Step]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for step in steps:
        try:
            payload = json.loads(step.action)
            name = payload.get("name", step.tool) if isinstance(payload, dict) else step.tool
            arguments = payload.get("arguments", {}) if isinstance(payload, dict) else {}
        except (json.JSONDecodeError, ValueError):
            name, arguments = step.tool, {"raw": step.action}
        call_id = f"call_{step.id}"
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(arguments)},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": call_id, "content": step.observation})
    return messages


def iter_records(store: WorldStore, episode_ids: Iterable[int]) -> Iterator[dict[str, Any]]:
    for episode_id in episode_ids:
        yield episode_record(store, episode_id)


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str] | Path) -> int:
    """Write records one per line; to a path atomically (a temp file, then renamed)."""
    if isinstance(out, Path):
        return write_atomically(out, lambda handle: write_jsonl(records, handle))
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count
