"""Run one episode of a synchronous agent against an env, with a progress bar."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from tycoon.agents.base import Agent
from tycoon.summary import EpisodeSummary, summarise_episode


def run_episode(
    env: Any,
    agent: Agent,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
    max_steps: int | None = None,
) -> EpisodeSummary:
    """Reset (or resume, with options={"episode_id": N}) and step until the episode ends.

    The progress bar counts simulated days. `max_steps` stops early (the episode stays
    resumable in the database).
    """
    observation, info = env.reset(seed=seed, options=options)
    unwrapped = env.unwrapped
    if info["status"] != "running":  # a resumed episode that had already ended
        return summarise_episode(unwrapped.store, unwrapped.episode_id)
    agent.reset(observation, info)
    total_days = unwrapped.config.max_days
    bar = tqdm(
        total=total_days,
        initial=info["day"] - 1,  # days already passed (info["day"] counts from 1)
        unit="day",
        desc=f"{agent.name} ep {unwrapped.episode_id}",
        disable=not progress,
        dynamic_ncols=True,
    )
    day, steps = info["day"], 0
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
