"""Task rows: the one description of "an episode to play" that every adapter shares.

A task is (env id, scenario, seed) plus what a trainer or eval harness shows the model
before the first step: the system prompt and the tool schemas. `tasks()` builds them;
`tycoon dataset` writes them as Parquet or JSONL; the OpenEnv server, verifiers,
inspect-ai and SkyRL adapters all read the same rows, so a seed means the same episode
in every framework.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

DEFAULT_ENV = "tycoon/VendingClassic-v0"


class TaskRow(BaseModel):
    """One episode to play: reset `env_id` with `scenario` and `seed`."""

    task_id: str = Field(description="'<env id>:<scenario>:<seed>', unique per task")
    env_id: str
    scenario: str
    seed: int
    max_steps: int | None = Field(None, description="step cap for this task (None: the env's)")
    system_prompt: str
    tools: list[dict[str, Any]] = Field(description="OpenAI function-tool schemas")

    def prompt(self) -> list[dict[str, str]]:
        """The chat prompt before the first observation (the system message)."""
        return [{"role": "system", "content": self.system_prompt}]

    def record(self) -> dict[str, Any]:
        """A flat row for Parquet/JSONL and dataset libraries: tools as JSON text (their
        schemas differ in shape, which columnar formats cannot hold as structs)."""
        return {
            "task_id": self.task_id,
            "env_id": self.env_id,
            "scenario": self.scenario,
            "seed": self.seed,
            "max_steps": self.max_steps,
            "prompt": self.prompt(),
            "tools": json.dumps(self.tools, separators=(",", ":")),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TaskRow:
        tools = record["tools"]
        return cls(
            task_id=record["task_id"],
            env_id=record["env_id"],
            scenario=record["scenario"],
            seed=int(record["seed"]),
            max_steps=record.get("max_steps"),
            system_prompt=record["prompt"][0]["content"],
            tools=json.loads(tools) if isinstance(tools, str) else tools,
        )


def tasks(
    env_id: str = DEFAULT_ENV,
    scenario: str | None = None,
    seeds: Iterable[int] | str = (0,),
    *,
    max_steps: int | None = None,
) -> list[TaskRow]:
    """The task rows of `env_id` under `scenario` (None: the env's own) for `seeds`
    (integers, or text like "0-999" or "0,1,5")."""
    seed_list = parse_seeds(seeds) if isinstance(seeds, str) else [int(s) for s in seeds]
    scenario_name, system_prompt, tools = _episode_frame(env_id, scenario)
    return [
        TaskRow(
            task_id=f"{env_id}:{scenario_name}:{seed}",
            env_id=env_id,
            scenario=scenario_name,
            seed=seed,
            max_steps=max_steps,
            system_prompt=system_prompt,
            tools=tools,
        )
        for seed in seed_list
    ]


_SEED_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


MAX_TASK_SEEDS = 100_000  # a row is ~14 KB, held in memory: more is a typo, not a dataset
MAX_SEED = 2**63 - 1  # seeds are stored as BIGINT


def parse_seeds(text: str) -> list[int]:
    """ "0-3,7" -> [0, 1, 2, 3, 7]; ranges are inclusive; order kept, repeats dropped."""
    seeds: list[int] = []
    for part in text.split(","):
        match = _SEED_PART.match(part)
        if match is None:
            raise ValueError(
                f"Expected seeds like '0-999' or '0,1,5' (non-negative whole numbers), got {text!r}"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"Expected a range low-high, got {part.strip()!r}")
        if last > MAX_SEED or last - first + 1 > MAX_TASK_SEEDS - len(seeds):
            raise ValueError(
                f"Expected at most {MAX_TASK_SEEDS:,} seeds, each at most {MAX_SEED}, got {text!r}"
            )
        seeds.extend(range(first, last + 1))
    return list(dict.fromkeys(seeds))


@functools.cache
def _frame_cached(env_id: str, scenario: str | None) -> tuple[str, str, str]:
    import gymnasium

    import tycoon
    from tycoon.agents.llm.agent import system_prompt
    from tycoon.envs.vending.env import agent_briefing

    known = [spec["id"] for spec in tycoon.ENVIRONMENTS]
    if env_id not in known:
        raise ValueError(f"Expected an environment id from {', '.join(known)}, got {env_id!r}")
    kwargs = {} if scenario is None else {"scenario": scenario}
    env = gymnasium.make(env_id, **kwargs)
    try:
        vending = env.unwrapped
        return (
            vending.scenario,
            system_prompt(agent_briefing(vending.config, 0)["briefing"]),
            json.dumps(vending.tool_schemas),
        )
    finally:
        env.close()


def _episode_frame(env_id: str, scenario: str | None) -> tuple[str, str, list[dict[str, Any]]]:
    """(scenario name, system prompt, tool schemas) of an env and scenario."""
    name, prompt, tools = _frame_cached(env_id, scenario)
    return name, prompt, json.loads(tools)
