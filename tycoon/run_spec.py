"""How an episode is run, stored with it: `RunSpec`.

`tycoon run` and `tycoon rollout` write the spec on the episode's row when they create
it (`episodes.run_spec`), and `--resume` runs the episode from its spec alone: the same
environment (and so the same limits and step cap), scenario, agent and agent settings.
A flag given on resume that contradicts the spec is refused (`conflicts`); settings that
only say how to reach a server (its URL, the variable holding the key, timeouts and
retries) may change between runs. No API key is ever part of a spec: only the name of
the environment variable that holds it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from tycoon.envs.world.schema import Episode

# agent settings that say how to reach the model, not what it does: a resume may change them
OPERATIONAL_SETTINGS = frozenset(
    {
        "base_url",
        "api_key_env",
        "timeout",
        "max_retries",
        "backoff_base",
        "backoff_max",
        "transport",
    }
)


class ServerSpec(BaseModel):
    """A model used by the env itself (the live judge): which, and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    base_url: str | None = None
    api_key_env: str | None = None


class RunSpec(BaseModel):
    """Everything that decides what happens in an episode besides its seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env_id: str
    scenario: str | None = None  # None: the environment's own
    max_days: int | None = None  # overrides of the environment's limits, as given
    max_steps: int | None = None
    agent: str
    model: str = ""
    # the agent's own settings: the random agent's seed, the replayed episode, the LLM
    # agent's LlmSettings (model, base URL, sampling, context budget, ...)
    agent_settings: dict[str, Any] = {}
    # LLM-worded supplier replies (LlmSettings as JSON), or None
    supplier_settings: dict[str, Any] | None = None
    judge: ServerSpec | None = None

    @classmethod
    def of_episode(cls, episode: Episode) -> RunSpec:
        """The stored spec; for an episode recorded before specs existed, what its row
        says (env, scenario, agent, model)."""
        if episode.run_spec is not None:
            spec = cls.model_validate(episode.run_spec)
            if spec.scenario is None:  # the env's own, as the episode recorded it
                spec = spec.model_copy(update={"scenario": episode.scenario})
            return spec
        return cls(
            env_id=episode.env_id,
            scenario=episode.scenario,
            agent=episode.agent or "baseline",
            model=episode.model or "",
        )

    def conflicts(self, given: dict[str, Any]) -> list[str]:
        """Each flag in `given` (flag name -> value, only those given explicitly) whose
        value differs from this spec's, as "--flag X (the episode's is Y)"."""
        problems = []
        for flag, value in given.items():
            stored = self.flag_value(flag)
            if stored is _ANY or value == stored:
                continue
            problems.append(f"--{flag} {value} (the episode's is {_shown(stored)})")
        return problems

    def flag_value(self, flag: str) -> Any:
        """The value this spec gives a command-line flag (`_ANY` when it sets none)."""
        direct = {
            "env": self.env_id,
            "agent": self.agent,
            "model": self.model,
            "scenario": self.scenario,
            "max-days": self.max_days,
            "max-steps": self.max_steps,
        }
        if flag in direct:
            return direct[flag]
        if flag == "replay-episode":
            return self.agent_settings.get("replay_episode", _ANY)
        if flag == "supplier-model":
            return (self.supplier_settings or {}).get("model")
        if flag == "judge-model":
            return self.judge.model if self.judge else None
        key = flag.replace("-", "_")
        if key in OPERATIONAL_SETTINGS:
            return _ANY
        return self.agent_settings.get(key, _ANY)


class _Any:
    def __repr__(self) -> str:
        return "any"


_ANY: Any = _Any()


def _shown(value: Any) -> str:
    return "none" if value is None or value == "" else str(value)
