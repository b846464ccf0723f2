"""VendingSimulation: one episode, advanced one tool call at a time. No Gymnasium here.

`execute` validates the call, runs the tool, charges its time and, when the day ends,
runs the night. `commit` writes the step's trajectory row and commits everything in one
transaction. A call that fails validation or is refused by the world changes nothing
and costs no simulated time (only its trajectory row is written), so the state hash
after a rejected action is the hash before it.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from tycoon.envs.vending.actions import (
    MAX_ACTION_CHARS,
    MAX_ERROR_CHARS,
    ActionError,
    ToolCall,
    bind_tool,
    clip,
    parse_action,
    validated_call,
)
from tycoon.envs.vending.config import VendingConfig
from tycoon.envs.vending.genesis import create_world
from tycoon.envs.vending.overnight import NightReport, run_overnight
from tycoon.envs.vending.probes.recorder import BehaviourRecorder
from tycoon.envs.vending.probes.runtime import ProbeRuntime
from tycoon.envs.vending.tools import tools_for
from tycoon.envs.vending.tools.base import Tool, storable
from tycoon.envs.vending.world import BANK, MINUTES_PER_DAY, VendingWorld, WorldError
from tycoon.envs.world.driver_sql import DriverStatement, RowUpdater
from tycoon.envs.world.schema import (
    BehaviorEvent,
    Email,
    Episode,
    MachineSlot,
    Order,
    Price,
    Step,
    StorageItem,
    Supplier,
)
from tycoon.envs.world.store import StoreError, WorldStore, step_not_saved
from tycoon.instrumentation.events import BehaviorEventModel

RUNNING = "running"
# What a step row stores is bounded, whatever the agent sent: the action at
# MAX_ACTION_CHARS (50,000) characters, the error at MAX_ERROR_CHARS (2,000), the
# observation at the env's `max_observation_chars` and never more than this; a cut text
# ends in "[... cut]" (the observation the agent saw ends in "[... truncated]").
MAX_OBSERVATION_STORED_CHARS = 200_000
# statuses in which the world ended the episode (the others: running, or a limit reached)
TERMINAL_STATUSES = frozenset({"bankrupt", "decommissioned", "fired", "replaced"})


# rows that change on most steps or nights: written by RowUpdater, not the unit of work
HOT_ROW_CLASSES = (MachineSlot, StorageItem, Price, Order, Supplier, Email)


class StepWriter:
    """The two statements every step runs, compiled once for the database's dialect.

    They run through `exec_driver_sql`, skipping SQLAlchemy's per-call compilation and
    result processing: on a cheap step that overhead is most of the step's cost.
    """

    def __init__(self, dialect: Dialect) -> None:
        counters = (
            update(Episode.__table__)
            .where(Episode.__table__.c.id == bindparam("episode_key"))
            .values(
                step_count=bindparam("step_count"),
                status=bindparam("status"),
                day=bindparam("day"),
                minute=bindparam("minute"),
                output_tokens_unbilled=bindparam("output_tokens_unbilled"),
            )
        )
        self._insert = DriverStatement(insert(Step.__table__), dialect)
        self._update = DriverStatement(counters, dialect)

    def write(self, connection: Connection, step: dict[str, Any], counters: dict[str, Any]) -> None:
        self._insert.run(connection, step)
        self._update.run(connection, counters)


class StepOutcome(BaseModel):
    """What one action did. `data` carries structured results for scripted agents."""

    tool: str
    call: ToolCall | None
    observation: str
    valid: bool
    error: str | None = None
    data: dict[str, Any] | None = None
    minutes: int = 0
    night: NightReport | None = None
    # behaviour events of this step (rule detectors; only in episodes with probes)
    events: list[BehaviorEventModel] = []
    # net worth after the step, when the simulation already computed it
    net_worth_cents: int | None = None


class VendingSimulation:
    def __init__(self, store: WorldStore, episode_id: int) -> None:
        self.store = store
        self.session: Session = store.session()
        episode = self.session.get(Episode, episode_id)
        if episode is None:
            self.session.close()
            raise StoreError(f"Expected an existing episode id, got {episode_id}")
        try:  # one process runs an episode at a time (a second resume is refused)
            store.claim_episode(episode_id)
        except StoreError:
            self.session.close()
            raise
        self._lease_renewed = time.monotonic()
        self.config = VendingConfig.model_validate(episode.config)
        self.world = VendingWorld(self.session, episode, self.config)
        self.tools: dict[str, type[Tool]] = {t.name: t for t in tools_for(self.config.probes)}
        self.probes: ProbeRuntime | None = None
        self.recorder: BehaviourRecorder | None = None
        if self.config.probes is not None:
            self.probes = ProbeRuntime(self.world, self.config.probes)
            self.world.probes = self.probes
            self.recorder = BehaviourRecorder(self.probes)
        # end the loading transaction: an idle env must not hold a pooled connection
        # (hundreds of envs share one store in a rollout)
        self.session.commit()
        self._step_started = time.perf_counter()
        self._step_writer: StepWriter | None = None
        self._row_updater: RowUpdater | None = None

    @classmethod
    def create(
        cls,
        store: WorldStore,
        *,
        env_id: str,
        seed: int,
        config: VendingConfig,
        scenario: str = "default",
        agent: str = "",
        model: str = "",
        run_spec: dict[str, Any] | None = None,
    ) -> VendingSimulation:
        with store.session() as session:
            episode = Episode(
                env_id=env_id,
                scenario=scenario,
                seed=seed,
                config=config.model_dump(mode="json"),
                agent=agent,
                model=model,
                run_spec=run_spec,
                minute=config.day_start_minute,
            )
            session.add(episode)
            session.flush()
            world = VendingWorld(session, episode, config)
            create_world(world)
            if config.probes is not None:
                world.probes = ProbeRuntime(world, config.probes)
                world.probes.setup()
            session.commit()
            episode_id = episode.id
        return cls(store, episode_id)

    @property
    def episode(self) -> Episode:
        return self.world.episode

    def close(self) -> None:
        self.session.close()
        if self._lease_renewed is not None:
            self._lease_renewed = None
            with contextlib.suppress(Exception):  # best effort: a stale lease expires anyway
                self.store.release_episode(self.world.episode.id)

    # -- stepping -------------------------------------------------------------------

    def execute(self, action: Any) -> StepOutcome:
        self._step_started = time.perf_counter()
        outcome = self._execute(action)
        if self.recorder is not None:
            outcome.net_worth_cents = self.world.net_worth_cents()
            outcome.events = self.recorder.finish(outcome, outcome.net_worth_cents)
        if self.probes is not None:
            self.probes.save()
        return outcome

    def _execute(self, action: Any) -> StepOutcome:
        if self.episode.status != RUNNING:
            return self._rejected("", None, f"The episode is over ({self.episode.status}).")
        recorder = self.recorder
        try:
            parsed = parse_action(action)
        except ActionError as exc:
            if recorder is not None:
                recorder.begin(None)
            return self._rejected(exc.tool, None, str(exc))
        try:
            tool = bind_tool(parsed, self.tools)
        except ActionError as exc:
            if recorder is not None:
                # a known tool with arguments its model refused: the detectors may read
                # a plain intent in them (an attempt); an unknown tool is no attempt
                known = parsed.name in self.tools
                recorder.begin(parsed if known else None, arguments_valid=not known)
            return self._rejected(exc.tool, None, str(exc))
        # from here on only the validated arguments are read (by detectors and tools alike)
        call = validated_call(tool)
        if recorder is not None:
            recorder.begin(call)
        rows_before = self.world.rows_written
        try:
            result = tool.run(self.world)
        except WorldError as exc:
            self._undo_partial_changes(wrote_rows=self.world.rows_written != rows_before)
            return self._rejected(call.name, call, f"{call.name} failed: {exc}")
        if self.probes is not None:
            self.probes.after_action(call)
        minutes = 0 if result.ends_day else int(tool.time_cost)
        observation, night = result.text, None
        if not result.ends_day:
            self.world.set_clock(self.world.day, self.world.minute + minutes)
        if result.ends_day or self.world.episode.minute >= MINUTES_PER_DAY:
            night = run_overnight(self.world)
            prefix = "" if result.ends_day else f"{observation}\n\nIt is past midnight. "
            observation = prefix + night.text(self.world)
        return StepOutcome(
            tool=call.name,
            call=call,
            observation=observation,
            valid=True,
            data=result.data,
            minutes=minutes,
            night=night,
        )

    def _rejected(self, tool: str, call: ToolCall | None, message: str) -> StepOutcome:
        message = clip(message, MAX_ERROR_CHARS)
        return StepOutcome(
            tool=tool, call=call, observation=f"Error: {message}", valid=False, error=message
        )

    def _undo_partial_changes(self, wrote_rows: bool) -> None:
        # Tools check before they change anything; should one not, the rollback and
        # reload keep a refused action from leaving half its effects behind (rows inserted
        # through Core, such as ledger entries, are not in the session: `wrote_rows`).
        session = self.session
        if wrote_rows or session.new or session.dirty or session.deleted:
            self.session.rollback()
            self._reload()
        elif self.probes is not None and self.probes.dirty:
            self._reload()

    def discard_step(self) -> None:
        """Roll back an unfinished step (after a database fault) and reload the world."""
        self.session.rollback()
        self._reload()

    def _reload(self) -> None:
        self.world.reload()
        if self.probes is not None:
            self.probes.reload()
        if self.recorder is not None:
            self.recorder.reset()

    def commit(
        self,
        outcome: StepOutcome,
        action_text: str,
        reward: float,
        reward_components: dict[str, float],
        net_worth_cents: int | None = None,
        info: dict[str, Any] | None = None,
    ) -> int:
        """Write the trajectory row and commit the step's changes in one transaction.

        `info` is what the agent receives for the step, stored with it so that a
        resumed scripted agent can be rebuilt from what it saw.

        The step row and the episode's counters go through Core statements: they change
        on every step, and the ORM's unit of work would triple the cost of a cheap step.
        """
        episode = self.world.episode
        step_id = episode.step_count + 1
        status = self.status_after_limits(step_id)
        counters = {
            "step_count": step_id,
            "status": status,
            "day": episode.day,
            "minute": episode.minute,
            "output_tokens_unbilled": episode.output_tokens_unbilled,
        }
        step_row = {
            "episode_id": episode.id,
            "id": step_id,
            "day": episode.day,
            "minute": episode.minute,
            "tool": storable(outcome.tool[:64]),
            "action": storable(clip(action_text, MAX_ACTION_CHARS)),
            "valid": outcome.valid,
            "error": storable(outcome.error) if outcome.error else None,
            "observation": storable(clip(outcome.observation, MAX_OBSERVATION_STORED_CHARS)),
            "reward": reward,
            "reward_components": reward_components,
            "net_worth_cents": (
                self.world.net_worth_cents() if net_worth_cents is None else net_worth_cents
            ),
            "bank_cents": self.world.balance(BANK),
            "elapsed_us": int((time.perf_counter() - self._step_started) * 1e6),
        }
        try:
            connection = self.session.connection()
            self.store.fence_step(connection, episode.id)  # refused if the lease was lost
            if self._step_writer is None:
                self._step_writer = StepWriter(connection.dialect)
                self._row_updater = RowUpdater(HOT_ROW_CLASSES, connection.dialect)
            # the rows a step changes most, in one statement per table; then the rest
            self._row_updater.write_dirty(self.session, connection)
            self.session.flush()
            step_row["reward_components"] = json.dumps(reward_components)
            step_row["info"] = None if info is None else _info_json(info)
            if outcome.events:
                self.world.insert_rows(BehaviorEvent, [event.to_row() for event in outcome.events])
            self._step_writer.write(connection, step_row, {"episode_key": episode.id, **counters})
            self.session.commit()
        except Exception as exc:
            self.session.rollback()
            self._reload()
            if isinstance(exc, DBAPIError):
                raise step_not_saved(exc, episode.id, step_id) from exc
            raise
        for key, value in counters.items():
            set_committed_value(episode, key, value)
        return step_id

    def status_after_limits(self, step_count: int) -> str:
        """The episode's status once its `step_count`-th step is committed."""
        episode, config = self.world.episode, self.config
        if episode.status != RUNNING:
            return episode.status
        if config.max_days is not None and episode.day >= config.max_days:
            return "finished"
        if config.max_steps is not None and step_count >= config.max_steps:
            return "step_limit"
        return RUNNING

    @property
    def terminated(self) -> bool:
        return self.episode.status in TERMINAL_STATUSES

    @property
    def truncated(self) -> bool:
        return self.episode.status in ("finished", "step_limit")

    def record_reset_view(self, observation: str, info: dict[str, Any]) -> None:
        """Store what the agent saw at reset (once, when the episode is new)."""
        episode = self.world.episode
        self.session.execute(
            update(Episode.__table__)
            .where(Episode.__table__.c.id == episode.id)
            .values(reset_observation=storable(observation), reset_info=info)
        )
        self.session.commit()
        set_committed_value(episode, "reset_observation", storable(observation))
        set_committed_value(episode, "reset_info", info)

    def record_output_tokens(self, tokens: int) -> None:
        """Add output tokens to the unbilled count (billed weekly when token billing is on)."""
        if tokens < 0:
            raise ValueError(f"Expected a non-negative token count, got {tokens}")
        episode = self.world.episode
        # written with the step's counters (one UPDATE), so no ORM flush of the episode
        set_committed_value(
            episode, "output_tokens_unbilled", episode.output_tokens_unbilled + tokens
        )


def _info_json(info: dict[str, Any]) -> str:
    """A step's info as strict JSON (PostgreSQL refuses NaN): a value JSON cannot hold
    (NaN, infinity, an object) is stored as null or its text, never failing the step."""
    try:
        return json.dumps(info, allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(_strict(info), allow_nan=False)


def _strict(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
