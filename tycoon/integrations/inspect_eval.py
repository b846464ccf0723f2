"""tycoon as an inspect-ai eval (extra `tycoon[inspect]`): `inspect eval tycoon/vending`.

    inspect eval tycoon/vending --model openai/gpt-4o-mini \\
        -T env=tycoon/VendingYear-v0 -T scenario=default -T seeds=0,1 -T max_steps=50 \\
        -T db=runs/inspect.db

The dataset is seeds x scenarios (`scenario` takes a comma-separated list), one sample
per task row of `tycoon.tasks`. The solver plays the episode itself instead of inspect's
tool loop: inspect validates tool arguments before a tool runs, so a bad call would never
reach tycoon; here every call (broken JSON and plain text included) goes to `env.step`
and a bad one is recorded by tycoon as an invalid action, exactly as in `tycoon run`.
The score is the env's score (net worth or bank balance, in dollars); its metadata holds
the episode id, day, invalid actions, reward components and every behaviour event.
"""

from __future__ import annotations

import json
from typing import Any

from tycoon.integrations import require

require("inspect_ai", "inspect")

import gymnasium  # noqa: E402
from inspect_ai import Task, task  # noqa: E402
from inspect_ai.dataset import MemoryDataset, Sample  # noqa: E402
from inspect_ai.model import (  # noqa: E402
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    get_model,
)
from inspect_ai.scorer import Score, Target, mean, scorer, stderr  # noqa: E402
from inspect_ai.solver import Generate, TaskState, solver  # noqa: E402
from inspect_ai.tool import ToolCall, ToolInfo, ToolParams  # noqa: E402

import tycoon  # noqa: E402
from tycoon.agents.llm.parsing import CONTINUE, IGNORED_CALL  # noqa: E402
from tycoon.task_rows import DEFAULT_ENV, TaskRow  # noqa: E402

DEFAULT_DB = "runs/tycoon.db"


@task
def vending(
    env: str = DEFAULT_ENV,
    scenario: str | list[str] | None = None,
    seeds: str | int | list[int | str] = "0",
    max_steps: int = 50,
    db: str = DEFAULT_DB,
) -> Task:
    """Run a vending business: one sample per (scenario, seed), scored by the env's score."""
    # `-T seeds=0,1` arrives as a list, `-T seeds=0-9` as text, `-T seeds=3` as a number
    scenarios: list[str | None] = [*_listed(scenario)] or [None]
    seed_text = ",".join(_listed(seeds))
    rows = [row for name in scenarios for row in tycoon.tasks(env, name, seed_text)]
    return Task(
        dataset=MemoryDataset([_sample(row) for row in rows], name=f"{env} tasks"),
        solver=tycoon_agent(max_steps=int(max_steps), db=db),
        scorer=tycoon_score(),
    )


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _sample(row: TaskRow) -> Sample:
    return Sample(
        id=row.task_id,
        input=[ChatMessageSystem(content=row.system_prompt)],
        metadata={
            "env_id": row.env_id,
            "scenario": row.scenario,
            "seed": row.seed,
            "tools": row.tools,
        },
    )


@solver
def tycoon_agent(max_steps: int = 50, db: str = DEFAULT_DB):  # type: ignore[no-untyped-def]
    """Play the sample's episode: the model's calls go to tycoon unvalidated."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta = state.metadata
        env = gymnasium.make(meta["env_id"], db=db, scenario=meta["scenario"])
        try:
            observation, info = env.reset(seed=meta["seed"])
            tools = [_tool_info(schema) for schema in meta["tools"]]
            state.messages.append(ChatMessageUser(content=observation))
            model = get_model()
            result = _EpisodeResult(episode_id=env.unwrapped.episode_id)
            result.record(info)
            state.metadata["tycoon"] = result.as_metadata()
            while result.steps < max_steps and not state.completed:
                output = await model.generate(state.messages, tools=tools)
                state.output = output
                message = output.message
                state.messages.append(message)
                calls = message.tool_calls or []
                action = _action(calls[0]) if calls else message.text
                observation, _reward, terminated, truncated, info = env.step(action)
                result.record(info, stepped=True)
                # kept current after every step: a sample stopped by one of inspect's
                # limits is still scored on the episode so far
                state.metadata["tycoon"] = result.as_metadata()
                state.messages.extend(_answers(calls, observation))
                if terminated or truncated:
                    break
        finally:
            env.close()
        return state

    return solve


class _EpisodeResult:
    """What the scorer reads: the latest money and status, counts and every event."""

    def __init__(self, episode_id: int) -> None:
        self.episode_id = episode_id
        self.steps = self.invalid_actions = 0
        self.events: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {}

    def record(self, info: dict[str, Any], *, stepped: bool = False) -> None:
        self.info = info
        if stepped:
            self.steps += 1
            self.invalid_actions += int(info["invalid_action"])
            self.events.extend(info["behavior_events"])

    def as_metadata(self) -> dict[str, Any]:
        info = self.info
        return {
            "episode_id": self.episode_id,
            "score": info["score"],
            "net_worth": info["net_worth"],
            "bank_balance": info["bank_balance"],
            "day": info["day"],  # 1 on the first day, as tycoon shows days
            "steps": self.steps,
            "status": info["status"],
            "invalid_actions": self.invalid_actions,
            "reward_components": info["reward_components"],
            "behavior_events": json.loads(json.dumps(self.events, default=str)),
        }


def _tool_info(schema: dict[str, Any]) -> ToolInfo:
    function = schema["function"]
    return ToolInfo(
        name=function["name"],
        description=function["description"],
        parameters=ToolParams.model_validate(function["parameters"]),
    )


def _action(call: ToolCall) -> dict[str, Any] | str:
    if call.parse_error:
        # arguments that were not JSON: tycoon sees (and records) a call it cannot bind
        return json.dumps({"name": call.function, "arguments": f"<unparsed: {call.parse_error}>"})
    return {"name": call.function, "arguments": call.arguments}


def _answers(calls: list[ToolCall], observation: str) -> list[Any]:
    if not calls:
        return [ChatMessageUser(content=f"{observation}\n\n{CONTINUE}")]
    first, *rest = calls
    return [
        ChatMessageTool(content=observation, tool_call_id=first.id, function=first.function),
        *(
            ChatMessageTool(content=IGNORED_CALL, tool_call_id=call.id, function=call.function)
            for call in rest
        ),
    ]


@scorer(metrics=[mean(), stderr()])
def tycoon_score():  # type: ignore[no-untyped-def]
    """The env's score in dollars; behaviour events and reward components in metadata."""

    async def score(state: TaskState, target: Target) -> Score:
        result = state.metadata.get("tycoon")
        if result is None:
            return Score(value=0.0, explanation="the episode did not run")
        return Score(
            value=result["score"],
            answer=f"{result['status']} after {result['steps']} steps",
            explanation=(
                f"score ${result['score']:,.2f} on day {result['day']}, "
                f"{result['invalid_actions']} invalid actions, "
                f"{len(result['behavior_events'])} behaviour events"
            ),
            metadata=result,
        )

    return score
