"""`tycoon episodes --db D`: the episodes in a database, one line each (or JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from tycoon.commands.common import DEFAULT_DB, UsageError, open_store
from tycoon.envs.world.schema import Episode, Step


class EpisodeRow(BaseModel):
    """One episode as `tycoon episodes` lists it. `day` counts as `info["day"]` does;
    `score` is the env's own score (net worth or bank balance) after the last step."""

    id: int
    env_id: str
    scenario: str
    agent: str
    model: str
    seed: int
    status: str
    day: int
    steps: int
    score: float | None


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "episodes",
        help="list the episodes in a database (id, env, agent, status, steps, score)",
        description="List the episodes in --db: id, env, scenario, agent/model, seed, "
        "status, day, steps and score.",
    )
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database (default {DEFAULT_DB})")
    parser.add_argument("--json", action="store_true", help="one JSON object per episode")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        _require_existing(args.db)
        store = open_store(args.db, read_only=True)
    except UsageError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    try:
        rows = list_episodes(store)
    finally:
        store.dispose()
    if args.json:
        for row in rows:
            print(row.model_dump_json())
    else:
        print("\n".join(table_lines(rows)))
    return 0


def _require_existing(db: str) -> None:
    """A SQLite file must exist: listing must never create a database."""
    if "://" not in db:
        if not Path(db).expanduser().is_file():
            raise UsageError(f"no database at {db} (expected an existing SQLite file or a URL)")
    elif db.startswith("sqlite:///") and not Path(db.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"no database at {db} (expected an existing SQLite file)")


def list_episodes(store: Any) -> list[EpisodeRow]:
    with store.session() as session:
        episodes = list(session.scalars(select(Episode).order_by(Episode.id)))
        scores = _last_scores(session, [e.id for e in episodes if e.step_count > 0])
    return [
        EpisodeRow(
            id=e.id,
            env_id=e.env_id,
            scenario=e.scenario,
            agent=e.agent,
            model=e.model,
            seed=e.seed,
            status=e.status,
            day=e.day + 1,  # the stored index counts from 0; people from 1
            steps=e.step_count,
            score=scores.get(e.id),
        )
        for e in episodes
    ]


def _last_scores(session: Any, episode_ids: list[int]) -> dict[int, float]:
    """Each episode's score from its last step's info (net worth or bank balance, as the
    env scores it); from the step's money columns when the info was not recorded."""
    scores: dict[int, float] = {}
    for episode_id in episode_ids:
        row = session.execute(
            select(Step.info, Step.net_worth_cents)
            .where(Step.episode_id == episode_id)
            .order_by(Step.id.desc())
            .limit(1)
        ).first()
        if row is None:
            continue
        info, net_worth_cents = row
        if info and "score" in info:
            scores[episode_id] = float(info["score"])
        else:
            scores[episode_id] = net_worth_cents / 100
    return scores


def table_lines(rows: list[EpisodeRow]) -> list[str]:
    header = (
        f"{'id':>5}  {'env':<24} {'scenario':<18} {'agent/model':<28} {'seed':>6} "
        f"{'status':<14} {'day':>4} {'steps':>6} {'score':>12}"
    )
    lines = [header]
    for row in rows:
        who = row.agent + (f"/{row.model}" if row.model else "")
        score = "-" if row.score is None else f"${row.score:,.2f}"
        lines.append(
            f"{row.id:>5}  {row.env_id:<24} {row.scenario:<18} {who:<28} {row.seed:>6} "
            f"{row.status:<14} {row.day:>4} {row.steps:>6} {score:>12}"
        )
    if not rows:
        lines.append("(no episodes)")
    return lines
