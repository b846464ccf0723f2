"""What the driver hands an env-runner: one episode to start or continue."""

from __future__ import annotations

from pydantic import BaseModel

from tycoon.agents.llm.settings import LlmSettings
from tycoon.rollout import EpisodeResult


class EpisodeJob(BaseModel):
    """One episode of a rollout.

    `resume` is the episode's id once it exists: a job handed out again after its actor
    died continues that episode from its last committed step. `deaths` counts the actors
    that died while running it. `llm` is the model endpoint for this episode (already
    routed to one base URL), or None for scripted agents. `ticket` names this job on
    its actor (unique in the driver's life), so that a driver that lost the stream of a
    job can listen to it again without starting it twice.
    """

    index: int  # position in the rollout
    seed: int | None = None
    member: int = 0  # position in its group (n episodes per seed)
    resume: int | None = None
    deaths: int = 0
    unreachable: int = 0  # times its actor could not be reached for a moment
    ticket: str = ""
    llm: LlmSettings | None = None
    trajectory: bool = False  # send the trajectory back with the result

    @property
    def key(self) -> str:
        """Identifies the episode before it has an id (sticky routing, sampling seeds)."""
        if self.seed is None:
            return f"episode:{self.resume}"
        return f"seed:{self.seed}:member:{self.member}"


class EpisodeOutcome(BaseModel):
    """A finished job: its result (from the database), and the trajectory if asked for."""

    job: EpisodeJob
    result: EpisodeResult
    trajectory: dict | None = None
