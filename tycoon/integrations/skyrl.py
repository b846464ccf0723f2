"""tycoon as a SkyRL-gym text environment (extra `tycoon[skyrl]`).

    from tycoon.integrations.skyrl import register
    register()                     # skyrl_gym id "tycoon"
    env = skyrl_gym.make("tycoon", env_config={"db": "runs/skyrl.db"}, extras=row)

`row` is a task row of `tycoon dataset` (its columns, or the same keys under
`extra_info`): env_id, scenario, seed, max_steps. SkyRL-train passes a dataset row's
columns as `extras`, so `tycoon dataset --out tasks.parquet` is its training set with
`environment.env_class=tycoon`. The model writes text; tycoon's own reply parser finds the
tool call in it (JSON, `<tool_call>` tags, ...). Text without a call still goes to tycoon,
which records it as an invalid action. The reward of a step is the env's reward (net-worth
change by default); its components and behaviour events are in the step's metadata.
"""

from __future__ import annotations

from typing import Any

from tycoon.integrations import require

require("skyrl_gym", "skyrl")

import gymnasium  # noqa: E402
import skyrl_gym  # noqa: E402
from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput  # noqa: E402

import tycoon  # noqa: E402, F401  (registers the gymnasium ids)
from tycoon.agents.llm.parsing import parse_reply  # noqa: E402
from tycoon.task_rows import DEFAULT_ENV  # noqa: E402

ENV_CLASS = "tycoon"
DEFAULT_MAX_TURNS = 2000


class TycoonTextEnv(BaseTextEnv):
    """One tycoon episode as text in, text out (SkyRL-gym's `BaseTextEnv`)."""

    def __init__(self, env_config: Any = None, extras: dict[str, Any] | None = None) -> None:
        super().__init__()
        task = _task_fields(extras or {})
        config = dict(env_config or {})
        self.env_id = task.get("env_id") or DEFAULT_ENV
        self.scenario = task.get("scenario")
        self.seed = int(task.get("seed") or 0)
        max_steps = task.get("max_steps") or config.get("max_steps")
        self.max_turns = int(max_steps or DEFAULT_MAX_TURNS)
        kwargs: dict[str, Any] = {"db": task.get("db") or config.get("db") or ":memory:"}
        if self.scenario:
            kwargs["scenario"] = self.scenario
        self.env = gymnasium.make(self.env_id, **kwargs)
        self.invalid_actions = 0
        self.last_info: dict[str, Any] = {}

    def init(self, prompt: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, Any]]:
        observation, info = self.env.reset(seed=self.seed)
        self.last_info = info
        return [*prompt, {"role": "user", "content": observation}], {
            "episode_id": info["episode_id"]
        }

    def step(self, action: str) -> BaseTextEnvStepOutput:
        self.turns += 1
        parsed = parse_reply({"role": "assistant", "content": action}, self.turns)
        # no call found: the text itself goes to tycoon, which records an invalid action
        observation, reward, terminated, truncated, info = self.env.step(
            parsed.action if parsed.action is not None else action
        )
        self.invalid_actions += int(info["invalid_action"])
        self.last_info = info
        done = terminated or truncated or self.turns >= self.max_turns
        return BaseTextEnvStepOutput(
            observations=[] if done else [{"role": "user", "content": observation}],
            reward=float(reward),
            done=done,
            metadata={
                "parse_status": str(parsed.status),
                "tool": info.get("tool"),
                "invalid_action": info["invalid_action"],
                "reward_components": info["reward_components"],
                "behavior_events": info["behavior_events"],
                "score": info["score"],
            },
        )

    def get_metrics(self) -> dict[str, Any]:
        return {
            "steps": self.turns,
            "score": self.last_info.get("score", 0.0),
            "net_worth": self.last_info.get("net_worth", 0.0),
            "day": self.last_info.get("day", 1),  # 1 on the first day, as tycoon shows
            "invalid_actions": self.invalid_actions,
        }

    def close(self) -> None:
        self.env.close()


def register(env_class: str = ENV_CLASS) -> None:
    """Register `TycoonTextEnv` with skyrl_gym under `env_class` (idempotent)."""
    if env_class in skyrl_gym.registry:
        return
    skyrl_gym.register(id=env_class, entry_point="tycoon.integrations.skyrl:TycoonTextEnv")


def _task_fields(extras: dict[str, Any]) -> dict[str, Any]:
    nested = extras.get("extra_info") or {}
    return {**nested, **{k: v for k, v in extras.items() if k != "extra_info"}}


__all__ = ["ENV_CLASS", "TycoonTextEnv", "register"]
