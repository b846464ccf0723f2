"""Agents, factories and a scripted model for the Ray tests (pickled by value to actors)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import uuid
from dataclasses import dataclass
from typing import Any

import gymnasium

import tycoon  # noqa: F401  (registers the env ids)
from tycoon.envs.vending.actions import ToolCall
from tycoon.envs.world.store import LEASE_HOST_ENV
from tycoon.parallel.actor import EnvRunner
from tycoon.parallel.worker import EpisodeFactory

WAIT = ToolCall(name="wait_for_next_day")


@dataclass
class _Decision:
    action: Any
    completion_tokens: int = 0


class PacedIdleAgent:
    """The idle agent (its resume is exact: it has no memory), taking `pace` seconds per
    decision so that a rollout is still running when a test disturbs it. With
    `kill_at_step`, it SIGKILLs its own process on reaching that step: an episode that
    kills every worker that runs it. With `kill_on_start`, it SIGKILLs its process as it
    starts a new episode: after the episode was created, before the driver heard of it."""

    name = "idle"

    def __init__(
        self, pace: float, kill_at_step: int | None = None, *, kill_on_start: bool = False
    ) -> None:
        self.pace = pace
        self.kill_at_step = kill_at_step
        self.kill_on_start = kill_on_start
        self.step = 0

    def start(self, env: Any, observation: str, info: dict[str, Any]) -> None:
        if self.kill_on_start:
            os.kill(os.getpid(), signal.SIGKILL)
        self.restore(env, observation, info)

    def restore(self, env: Any, observation: str, info: dict[str, Any]) -> None:
        self.step = int(info.get("step", 0))

    async def decide(self) -> _Decision:
        if self.kill_at_step is not None and self.step >= self.kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)
        await asyncio.sleep(self.pace)
        return _Decision(WAIT)

    def observe(self, decision: Any, observation: str) -> None:
        self.step += 1


class IdleEpisodes(EpisodeFactory):
    """Classic with `max_days`, played by `PacedIdleAgent`; seed `poison_seed` kills at
    step `kill_at_step`, seed `orphan_seed` as its episode starts."""

    def __init__(
        self,
        db: str,
        *,
        max_days: int,
        pace: float = 0.0,
        poison_seed: int | None = None,
        kill_at_step: int = 5,
        orphan_seed: int | None = None,
    ) -> None:
        self.db = db
        self.max_days = max_days
        self.pace = pace
        self.poison_seed = poison_seed
        self.kill_at_step = kill_at_step
        self.orphan_seed = orphan_seed

    def make_env(self, store: Any, job: Any) -> Any:
        return gymnasium.make(
            "tycoon/VendingClassic-v0",
            store=store,
            config={"max_days": self.max_days},
            agent_name="idle",
        )

    def make_agent(self, store: Any, job: Any, clients: Any) -> Any:
        kill = self.kill_at_step if job.seed == self.poison_seed else None
        return PacedIdleAgent(self.pace, kill, kill_on_start=job.seed == self.orphan_seed)


def solo_idle_hash(db: str, seed: int, max_days: int) -> str:
    """The state hash of an undisturbed idle episode, run in this process."""
    from tycoon.envs.world.store import WorldStore

    store = WorldStore(db)
    env = gymnasium.make(
        "tycoon/VendingClassic-v0", store=store, config={"max_days": max_days}, agent_name="idle"
    )
    try:
        env.reset(seed=seed)
        done = False
        while not done:
            _o, _r, terminated, truncated, _i = env.step(WAIT)
            done = terminated or truncated
        return env.unwrapped.state_hash()
    finally:
        env.close()
        store.dispose()


def conversation_reply(delay: float):
    """A model whose every answer depends on the whole conversation so far: it stores a
    digest of the conversation (roles, texts, tool calls; not the random call ids) with
    `kv_set`, and waits for the next day every fourth turn. A resumed conversation that
    differs in any message leaves a different world (state hash)."""
    from openai_server import Reply

    def reply(body: dict[str, Any]) -> Reply:
        messages = body.get("messages", [])
        shape = [
            (
                m.get("role"),
                m.get("content"),
                [
                    (c["function"]["name"], c["function"]["arguments"])
                    for c in m.get("tool_calls") or []
                ],
            )
            for m in messages
        ]
        digest = hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]
        if len(messages) % 4 == 3:
            return Reply.tool_call("wait_for_next_day", delay=delay)
        return Reply.tool_call(
            "kv_set", {"key": f"turn-{len(messages) % 5}", "value": digest}, delay=delay
        )

    return reply


def play_waits(env: Any, steps: int) -> tuple[int, int, str]:
    """Step a shipped env `steps` times (in a Ray task): its pid, episode and final hash."""
    for _ in range(steps):
        env.step(WAIT.to_json())
    return os.getpid(), env.unwrapped.episode_id, env.unwrapped.state_hash()


class OtherHostRunner(EnvRunner):
    """An env-runner whose leases name a machine of its own (`TYCOON_LEASE_HOST`), as on
    a cluster: no other actor can see that its process died, so its lease is free only
    when the driver hands it over (or after the lease TTL)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        os.environ[LEASE_HOST_ENV] = f"node-{uuid.uuid4().hex[:8]}"
        super().__init__(*args, **kwargs)


class FlakyRunner(EnvRunner):
    """An env-runner that Ray reports unavailable once per job, after the job started:
    the driver's stream of the job breaks while the actor goes on running it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broken: set[str] = set()

    async def run(self, job: Any) -> Any:
        async for item in super().run(job):
            yield item
            if item[0] == "started" and job.ticket not in self.broken:
                self.broken.add(job.ticket)
                from ray.exceptions import ActorUnavailableError

                raise ActorUnavailableError("a test's network blip", None)
