"""Run one episode of a synchronous agent against an env, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from tycoon.agents.base import Agent
from tycoon.agents.history import load_history, rebuild
from tycoon.summary import EpisodeSummary, summarise_episode


def run_episode(
    env: Any,
    agent: Agent,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
    max_steps: int | None = None,
    on_reset: Callable[[int], None] | None = None,
) -> EpisodeSummary:
    """Reset (or resume, with options={"episode_id": N}) and step until the episode ends.

    The progress bar counts simulated days. `max_steps` stops early (the episode stays
    resumable in the database). `on_reset(episode_id)` is called once the episode
    exists. A resumed agent is rebuilt from what it saw
    (`resume_agent`), so the run continues as the uninterrupted one would.
    """
    observation, info = env.reset(seed=seed, options=options)
    unwrapped = env.unwrapped
    if on_reset is not None:
        on_reset(unwrapped.episode_id)
    if info["status"] != "running":  # a resumed episode that had already ended
        return summarise_episode(unwrapped.store, unwrapped.episode_id)
    bar_day = info["day"]
    if options and "episode_id" in options:
        observation, info = resume_agent(agent, unwrapped.store, unwrapped.episode_id)
    else:
        agent.reset(observation, info)
    total_days = unwrapped.config.max_days
    bar = tqdm(
        total=total_days,
        initial=bar_day - 1,  # days already passed (info["day"] counts from 1)
        unit="day",
        desc=f"{agent.name} ep {unwrapped.episode_id}",
        disable=not progress,
        dynamic_ncols=True,
    )
    day, steps = bar_day, 0
    try:
        while max_steps is None or steps < max_steps:
            action = agent.act(observation, info)
            observation, _reward, terminated, truncated, info = env.step(action)
            steps += 1
            if info["day"] != day:
                bar.update(info["day"] - day)
                day = info["day"]
                bar.set_postfix(net_worth=f"${info['net_worth']:,.0f}", refresh=False)
            if terminated or truncated:
                break
    finally:
        bar.close()
    return summarise_episode(unwrapped.store, unwrapped.episode_id)


def resume_agent(agent: Agent, store: Any, episode_id: int) -> tuple[str, dict[str, Any]]:
    """Rebuild a synchronous agent from the episode's recorded views (see
    `tycoon.agents.base`); return the (observation, info) it acts on next.
    Raises `tycoon.agents.history.ResumeMismatch` when it cannot be rebuilt exactly."""
    return rebuild(agent, load_history(store, episode_id))
