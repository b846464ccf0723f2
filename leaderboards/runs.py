"""Eval runs in the database: which suite an agent ran, on what, and which episodes.

An eval run is identified by its spec (suite, agent, model and any overrides). Running
the same spec again continues that run: episodes that never started are started, those
left running are resumed, finished ones are kept.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from tycoon.envs.world.schema import Episode, EvalEpisode, EvalRun
from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.suite import Suite

if TYPE_CHECKING:
    from tycoon.leaderboards.arena import ArenaRunSpec


class RunSpec(BaseModel):
    """What one eval run plays: the suite as run (after overrides) and the agent."""

    model_config = ConfigDict(frozen=True)

    suite: str
    env: str
    scenarios: list[str]
    seeds: list[int]
    suite_seeds: list[int] = []  # the suite's own, to show when --seeds changed them
    max_days: int | None
    max_steps: int | None
    agent: str
    model: str = ""
    base_url: str | None = None

    @classmethod
    def build(
        cls,
        suite: Suite,
        *,
        agent: str,
        model: str = "",
        base_url: str | None = None,
        seeds: list[int] | None = None,
        max_days: int | None = None,
        max_steps: int | None = None,
    ) -> RunSpec:
        return cls(
            suite=suite.name,
            env=suite.env,
            scenarios=list(suite.scenarios),
            seeds=list(seeds) if seeds is not None else list(suite.seeds),
            suite_seeds=list(suite.seeds),
            max_days=max_days if max_days is not None else suite.max_days,
            max_steps=max_steps if max_steps is not None else suite.max_steps,
            agent=agent,
            model=model,
            base_url=base_url,
        )

    def key(self) -> str:
        text = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def planned(self) -> list[tuple[str, int]]:
        return [(scenario, seed) for scenario in self.scenarios for seed in self.seeds]


class PlannedEpisode(BaseModel):
    scenario: str
    seed: int
    episode_id: int | None  # None: not started yet
    finished: bool


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("tycoon", "gymnasium", "sqlalchemy", "openai", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_revision() -> str | None:
    """The commit of the tycoon source, with "+dirty" for local changes; None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def open_eval_run(store: WorldStore, spec: RunSpec | ArenaRunSpec) -> tuple[int, bool]:
    """The run for this spec: (id, True) when continuing an earlier one, else a new one."""
    key = spec.key()
    with store.session() as session:
        existing = session.scalars(
            select(EvalRun)
            .where(
                EvalRun.suite == spec.suite,
                EvalRun.agent == spec.agent,
                EvalRun.model == spec.model,
                EvalRun.spec_key == key,
            )
            .order_by(EvalRun.id.desc())
            .limit(1)
        ).first()
        if existing is not None:
            return existing.id, True
        run = EvalRun(
            suite=spec.suite,
            agent=spec.agent,
            model=spec.model,
            spec_key=key,
            spec=spec.model_dump(),
            versions=versions(),
            git_revision=git_revision(),
        )
        session.add(run)
        session.commit()
        return run.id, False


def planned_episodes(store: WorldStore, run_id: int, spec: RunSpec) -> list[PlannedEpisode]:
    """Every (scenario, seed) of the run with its episode, if it has one, and whether it
    finished."""
    with store.session() as session:
        linked = {
            (scenario, seed): (episode_id, status)
            for scenario, seed, episode_id, status in session.execute(
                select(
                    EvalEpisode.scenario, EvalEpisode.seed, EvalEpisode.episode_id, Episode.status
                )
                .join(Episode, Episode.id == EvalEpisode.episode_id)
                .where(EvalEpisode.eval_run_id == run_id)
            ).all()
        }
    planned = []
    for scenario, seed in spec.planned():
        episode_id, status = linked.get((scenario, seed), (None, None))
        planned.append(
            PlannedEpisode(
                scenario=scenario,
                seed=seed,
                episode_id=episode_id,
                finished=status is not None and status != "running",
            )
        )
    return planned


def link_episode(store: WorldStore, run_id: int, scenario: str, seed: int, episode_id: int) -> None:
    """Record that the run's (scenario, seed) is played by `episode_id` (idempotent)."""
    with store.session() as session:
        link = session.get(EvalEpisode, (run_id, scenario, seed))
        if link is None:
            session.add(
                EvalEpisode(eval_run_id=run_id, scenario=scenario, seed=seed, episode_id=episode_id)
            )
        elif link.episode_id != episode_id:
            link.episode_id = episode_id  # a run restarted from scratch for this pair
        session.commit()


def finish_if_complete(store: WorldStore, run_id: int, spec: RunSpec) -> bool:
    """Stamp `finished_at` once every planned episode has finished; True when complete."""
    complete = all(p.finished for p in planned_episodes(store, run_id, spec))
    return stamp_finished(store, run_id, complete)


def stamp_finished(store: WorldStore, run_id: int, complete: bool) -> bool:
    """Stamp the run's `finished_at` when `complete` (once); returns `complete`."""
    with store.session() as session:
        run = session.get(EvalRun, run_id)
        assert run is not None
        if complete and run.finished_at is None:
            run.finished_at = datetime.now(UTC).replace(tzinfo=None)
            session.commit()
    return complete


def is_arena_run(run: EvalRun) -> bool:
    """Whether a run plays entrants against each other (`tycoon.leaderboards.arena`)
    rather than one agent through episodes."""
    return "entrants" in (run.spec or {})


def eval_runs(store: WorldStore, suite: str | None = None) -> list[EvalRun]:
    with store.session() as session:
        query = select(EvalRun).order_by(EvalRun.id)
        if suite is not None:
            query = query.where(EvalRun.suite == suite)
        return list(session.scalars(query))


def run_episode_links(store: WorldStore, run_id: int) -> list[tuple[str, int, int]]:
    """(scenario, seed, episode id) of every episode linked to the run."""
    with store.session() as session:
        rows = session.execute(
            select(EvalEpisode.scenario, EvalEpisode.seed, EvalEpisode.episode_id)
            .where(EvalEpisode.eval_run_id == run_id)
            .order_by(EvalEpisode.scenario, EvalEpisode.seed)
        ).all()
    return [(scenario, seed, episode_id) for scenario, seed, episode_id in rows]
