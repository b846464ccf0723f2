"""Per-call records of LLM agents (the `llm_calls` table): written ahead, read back on resume.

A call's row is committed before its tool call reaches the env, with the step it will
become. A run killed between the two leaves a call whose step is missing; on resume the
agent executes that recorded call instead of asking the model again, so nothing is lost
and nothing is asked twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from tycoon.envs.world.schema import LlmCall
from tycoon.envs.world.store import WorldStore

_INSERT_CALL = insert(LlmCall.__table__)


class CallRecorder:
    def __init__(self, store: WorldStore, episode_id: int) -> None:
        self.store = store
        self.episode_id = episode_id
        with store.engine.connect() as conn:
            last = conn.execute(
                select(func.max(LlmCall.id)).where(LlmCall.episode_id == episode_id)
            ).scalar()
        self.next_id = int(last or 0) + 1

    def write(self, row: dict[str, Any]) -> int:
        call_id = self.next_id
        with self.store.engine.begin() as conn:
            conn.execute(_INSERT_CALL, {**row, "episode_id": self.episode_id, "id": call_id})
        self.next_id += 1
        return call_id


def load_calls(store: WorldStore, episode_id: int) -> list[LlmCall]:
    with store.session() as session:
        return list(
            session.scalars(
                select(LlmCall).where(LlmCall.episode_id == episode_id).order_by(LlmCall.id)
            )
        )
