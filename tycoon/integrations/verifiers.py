"""tycoon as a verifiers (0.4, `verifiers.v1`) taskset with native tool calls (extra
`tycoon[verifiers]`; taskset id `tycoon-vending`, installed by `environments/tycoon_vending`).

    vf-eval tycoon-vending --env.taskset.seeds 0-9 --env.taskset.max-steps 50 \\
        --model M --client.base-url URL --client.api-key-var OPENAI_API_KEY

One task per task row of `tycoon.tasks` (env, scenario, seed): the system prompt is the
row's, the user prompt is the episode's first observation. Every rollout starts its own
tool server (`TycoonToolset`, a verifiers MCP server in a subprocess), which resets the
episode in the taskset's database and offers tycoon's tools with tycoon's own schemas.
Calls are not validated on the way: a bad argument reaches tycoon and is recorded as an
invalid action, as in `tycoon run`. The exchange stops when the episode ends (a `@stop`
on the shared state); a rollout cut short by the agent's turn limit closes its episode
when the tool server shuts down, so the episode can be resumed at once.

Scoring: one reward per tycoon reward component, summed over the episode and weighted as
the env weighs it (so the trace's reward is the episode's return); the env's score, day, steps, invalid actions and behaviour
events are metrics. `load_environment(...)` builds the same env for the classic
`vf.load_environment`-style Python entry point.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any, ClassVar, cast

from tycoon.integrations import require

require("verifiers", "verifiers")

import verifiers.v1 as vf  # noqa: E402
from pydantic import Field  # noqa: E402

from tycoon.task_rows import DEFAULT_ENV, TaskRow, tasks  # noqa: E402

TASKSET_ID = "tycoon-vending"
DEFAULT_DB = "runs/tycoon.db"
EPISODE_OVER = "The episode is over: no more tool calls are taken."


class TycoonState(vf.State):
    """The rollout's episode as the tool server last saw it (shared with the host)."""

    episode_id: int | None = None
    steps: int = 0
    done: bool = False
    status: str = "running"
    day: int = 1
    score: float = 0.0
    net_worth: float = 0.0
    invalid_actions: int = 0
    reward_components: dict[str, float] = Field(default_factory=dict)
    reward_weights: dict[str, float] = Field(default_factory=dict)
    behavior_events: list[dict[str, Any]] = Field(default_factory=list)


class TycoonData(vf.TaskData):
    """One episode to play: a task row, and the database the tool server writes into."""

    env_id: str
    scenario: str
    seed: int
    max_steps: int | None = None
    db: str


class TycoonTaskConfig(vf.TaskConfig):
    tools: vf.ToolsetConfig = vf.ToolsetConfig()
    """Where each rollout's tool server runs (a local subprocess by default)."""


class TycoonConfig(vf.TasksetConfig):
    env_id: str = DEFAULT_ENV
    """A tycoon environment id (`tycoon envs`)."""
    scenario: str | None = None
    """Scenario name (None: the env's own)."""
    seeds: str = "0"
    """Seeds, e.g. "0-999" or "0,1,5": one task per seed."""
    max_steps: int | None = None
    """Step cap of each episode (None: the env's)."""
    db: str = DEFAULT_DB
    """SQLite file or SQLAlchemy URL every rollout's episode is written into."""
    task: TycoonTaskConfig = TycoonTaskConfig()


class TycoonToolset(vf.Toolset[vf.ToolsetConfig, TycoonState]):
    """One rollout's episode behind MCP: `list_tools` gives tycoon's tool schemas,
    `call_tool` is one `env.step`, with the arguments exactly as the model sent them."""

    TOOL_PREFIX: ClassVar[str | None] = None  # tycoon's tool names, unprefixed

    def __init__(self, config: vf.ToolsetConfig) -> None:
        super().__init__(config)
        self.env: Any = None

    async def setup_task(self, task: TycoonData) -> None:
        import gymnasium

        import tycoon  # noqa: F401  (registers the environment ids)

        kwargs: dict[str, Any] = {"db": task.db, "scenario": task.scenario}
        if task.max_steps is not None:
            kwargs["config"] = {"max_steps": task.max_steps}
        # unwrapped: the step cap lives in the episode's config (no TimeLimit counter)
        self.env = gymnasium.make(task.env_id, **kwargs).unwrapped
        self.env.reset(seed=task.seed)
        self._exit_stack.callback(self.env.close)
        # A rollout that ends (by a turn limit too) stops this server with SIGTERM.
        # uvicorn catches it while serving and raises it again once it has stopped, with
        # the handler it found: this one, which closes the episode (releasing its lease,
        # so it can be resumed at once) before the process exits.
        signal.signal(signal.SIGTERM, self._close_then_exit)

    def _close_then_exit(self, signum: int, _frame: Any) -> None:
        if self.env is not None:
            self.env.close()
        raise SystemExit(128 + signum)

    def register(self, mcp: Any) -> None:
        # MCPServer's handlers call these methods: tycoon's schemas as they are, and
        # arguments passed on unvalidated (tycoon validates and records bad ones)
        server = cast(Any, mcp)
        server.list_tools = self._with_state(self.list_tools)
        server.call_tool = self._with_state(self.call_tool)

    async def list_tools(self) -> list[Any]:
        from mcp.types import Tool

        return [
            Tool(
                name=schema["function"]["name"],
                description=schema["function"]["description"],
                input_schema=schema["function"]["parameters"],
            )
            for schema in self.env.tool_schemas
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        from mcp.types import CallToolResult, TextContent

        state = self.state
        if state.done:
            return CallToolResult(content=[TextContent(type="text", text=EPISODE_OVER)])
        text, _reward, terminated, truncated, info = self.env.step(
            {"name": name, "arguments": arguments}
        )
        state.reward_weights = dict(self.env.reward_spec.weights)
        _record(state, self.env.episode_id, info, done=terminated or truncated)
        if state.done:
            text = f"{text}\n\n{EPISODE_OVER}"
        return CallToolResult(
            content=[TextContent(type="text", text=text)], is_error=info["invalid_action"]
        )


def _record(state: TycoonState, episode_id: int, info: dict[str, Any], *, done: bool) -> None:
    state.episode_id = episode_id
    state.steps += 1
    state.done = done
    state.status = str(info["status"])
    state.day = int(info["day"])
    state.score = float(info["score"])
    state.net_worth = float(info["net_worth"])
    state.invalid_actions += int(info["invalid_action"])
    for component, value in info["reward_components"].items():
        state.reward_components[component] = state.reward_components.get(component, 0.0) + value
    state.behavior_events.extend(json.loads(json.dumps(info["behavior_events"], default=str)))


class TycoonTask(vf.Task[TycoonData, TycoonState, TycoonTaskConfig]):
    """A tycoon episode: its own tool server, scored from what the episode recorded."""

    @classmethod
    def toolsets(cls, config: TycoonTaskConfig) -> list[vf.Toolset]:
        return [TycoonToolset(config.tools)]

    @property
    def key(self) -> str:
        return f"{self.data.env_id}:{self.data.scenario}:{self.data.seed}"

    @vf.stop
    def episode_over(self, trace: vf.Trace) -> bool:
        return cast(TycoonState, trace.state).done

    async def score(self, trace: vf.Trace, runtime: Any = None) -> None:
        """Metrics (below), then one reward per tycoon reward component, summed over the
        episode and weighted as the env weighs it (weight 0: reported, not rewarded), so
        the trace's reward is the episode's return in tycoon."""
        await super().score(trace, runtime)
        if self.scoring_deferred:
            return
        state = cast(TycoonState, trace.state)
        for name, value in state.reward_components.items():
            trace.record_reward(name, value, state.reward_weights.get(name, 0.0))

    @vf.metric
    async def episode(self, trace: vf.Trace) -> dict[str, float]:
        state = cast(TycoonState, trace.state)
        return {
            "score": state.score,
            "net_worth": state.net_worth,
            "day": float(state.day),
            "steps": float(state.steps),
            "invalid_actions": float(state.invalid_actions),
            "behavior_events": float(len(state.behavior_events)),
            "episode_id": float(state.episode_id or 0),
        }


class TycoonTaskset(vf.Taskset[TycoonTask, TycoonConfig]):
    """tycoon's task rows as verifiers tasks; the first observation is the user prompt."""

    def load(self) -> Iterator[TycoonTask]:
        config = self.config
        db = _absolute(config.db)
        for row in tasks(config.env_id, config.scenario, config.seeds, max_steps=config.max_steps):
            yield TycoonTask(
                TycoonData(
                    id=row.task_id,
                    name=row.task_id,
                    system_prompt=row.system_prompt,
                    prompt=first_observation(row),
                    env_id=row.env_id,
                    scenario=row.scenario,
                    seed=row.seed,
                    max_steps=row.max_steps,
                    db=db,
                ),
                config.task,
            )


def first_observation(row: TaskRow) -> str:
    """What `reset(seed)` shows: an in-memory episode, so the database is not touched."""
    import gymnasium

    env = gymnasium.make(row.env_id, db=":memory:", scenario=row.scenario)
    try:
        observation, _info = env.reset(seed=row.seed)
        return observation
    finally:
        env.close()


def _absolute(db: str) -> str:
    """A relative SQLite path made absolute: the tool servers run in other directories."""
    if "://" in db or db == ":memory:":
        return db
    return os.path.abspath(db)


class TycoonVendingEnvConfig(vf.SingleAgentEnvConfig):
    agent: vf.AgentConfig = vf.AgentConfig(
        harness={"id": "null"}, runtime=vf.SubprocessConfig()
    )  # the plain chat loop with native tool calls, on this machine
    """The one seat: verifiers' chat harness (`null`) as a local subprocess."""


class TycoonVendingEnv(vf.Env[TycoonVendingEnvConfig]):
    """One agent plays each task (as `SingleAgentEnv`), with tycoon's defaults."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        await agents.agent.run(task)


def load_environment(
    env_id: str = DEFAULT_ENV,
    scenario: str | None = None,
    seeds: str = "0",
    max_steps: int | None = None,
    db: str = DEFAULT_DB,
    max_turns: int | None = None,
) -> vf.Env:
    """The environment-hub entry point: the `tycoon-vending` env for these task rows."""
    taskset = {"id": TASKSET_ID, "env_id": env_id, "scenario": scenario, "seeds": seeds}
    taskset |= {"max_steps": max_steps, "db": db}
    agent = TycoonVendingEnvConfig().agent.model_copy(update={"max_turns": max_turns})
    config = TycoonVendingEnvConfig.model_validate({"taskset": taskset, "agent": agent})
    return vf.load_environment(config)


__all__ = ["TycoonTaskset", "TycoonVendingEnv", "load_environment"]


if __name__ == "__main__":  # verifiers starts each rollout's tool server this way
    TycoonToolset.run()
