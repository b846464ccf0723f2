"""One episode from synchronous code, with a progress bar over simulated days.

`run_episode` is the one episode loop (`tycoon.rollout.run_episode_async`) run to its
end on its own event loop, for callers that are not async (tests, scripts, `tycoon run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from tycoon.rollout import EpisodeResult, run_episode_async
from tycoon.summary import EpisodeSummary


class DayProgress:
    """A bar over the episode's simulated days with its net worth; `stepped(info)` after
    each step (an `on_step` callback of the episode loop)."""

    def __init__(self, total_days: int | None, desc: str, *, enabled: bool = True) -> None:
        self.bar = tqdm(
            total=total_days, unit="day", desc=desc, disable=not enabled, dynamic_ncols=True
        )
        self.day: int | None = None

    def stepped(self, info: dict[str, Any]) -> None:
        day = int(info["day"])
        if self.day is None:  # the first step (of a run, or of a resumed run)
            self.bar.update(day - 1)
            self.day = day
        elif day != self.day:
            self.bar.update(day - self.day)
            self.day = day
            self.bar.set_postfix(net_worth=f"${info['net_worth']:,.0f}", refresh=False)

    def close(self) -> None:
        self.bar.close()


def run_episode_sync(
    env: Any,
    agent: Any,
    *,
    seed: int | None = None,
    resume: int | None = None,
    progress: bool = True,
    desc: str | None = None,
    max_steps: int | None = None,
    on_reset: Callable[[int], None] | None = None,
    step_in_thread: bool = False,
) -> EpisodeResult:
    """`run_episode_async` on its own event loop, with a bar over days."""
    name = getattr(agent, "name", "agent")
    max_days = getattr(getattr(env.unwrapped, "config", None), "max_days", None)
    bar = DayProgress(max_days, desc or name, enabled=progress)

    async def main() -> EpisodeResult:
        try:
            return await run_episode_async(
                env,
                agent,
                seed=seed,
                resume=resume,
                max_steps=max_steps,
                on_step=bar.stepped,
                on_reset=on_reset,
                step_in_thread=step_in_thread,
            )
        finally:  # a model client lives on this event loop, which ends here
            client = getattr(agent, "client", None)
            if client is not None and hasattr(client, "close"):
                await client.close()

    try:
        return asyncio.run(main())
    finally:
        bar.close()


def run_episode(
    env: Any,
    agent: Any,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
    max_steps: int | None = None,
    on_reset: Callable[[int], None] | None = None,
) -> EpisodeSummary:
    """Reset (or resume, with options={"episode_id": N}) and step until the episode ends;
    the episode's summary. `max_steps` stops early (the episode stays resumable in the
    database). A resumed agent is rebuilt from what it saw, so the run continues as the
    uninterrupted one would."""
    resume = int(options["episode_id"]) if options and "episode_id" in options else None
    result = run_episode_sync(
        env,
        agent,
        seed=seed,
        resume=resume,
        progress=progress,
        max_steps=max_steps,
        on_reset=on_reset,
    )
    assert result.summary is not None
    return result.summary
