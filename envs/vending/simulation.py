"""VendingSimulation: one episode, advanced one tool call at a time. No Gymnasium here.

`step(action) -> StepResult` owns the whole step: it validates the call, runs the tool,
charges its time and, when the day ends, runs the night; then it decides the status
(the one place that does), computes the reward and the behaviour events, builds the
observation and `info`, writes the trajectory row and commits, in one transaction. A
call that fails validation or is refused by the world changes nothing and costs no
simulated time (only its trajectory row is written), so the state hash after a rejected
action is the hash before it.

## Durability
`durability` says when the step's transaction commits; the same seed and actions give
the same final state hash in every setting:
- `"step"` (default; what LLM runs use): every step commits. A crash loses nothing but
  the step in flight; a resumed run continues from the last step.
- `"day"`: the steps of a simulated day commit together, at the step that runs the
  night (and at the episode's end, `close()`, `state_hash()` and `fork()`). A crash
  loses the current day's steps; resuming replays them from the last night.
- `"episode"`: one commit when the episode ends (or at `close()`). A crash loses the
  whole episode (its creation stays). For sweeps of scripted policies that can rerun.
A database fault in a step with uncommitted earlier steps cannot be retried alone: it is
reported as not transient and the episode resumes from its last commit.

A step that does not commit writes nothing: the world keeps its changed rows pending (a
row changed by many steps is written once, with its last values) and the step stages its
trajectory row. At the commit point the world's rows (one executemany per table and
kind, in the schema's table order), the staged step rows (one executemany) and the
episode's counters go out in one transaction; so does everything that commits early
(`close()`, `commit_pending()`, `commit_world_changes()`, `state_hash()`, `fork()`, the
step that ends the episode). A refused call that left changes behind is undone from the
world's journal of the step (`VendingWorld.undo_step`); the world is then reloaded from
the transaction, into which the earlier uncommitted steps' rows are written first. The
lease is fenced at the transaction's first step (its lock holds the lease row until the
commit) and at the commit (which renews its time).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

from tycoon.envs.vending.actions import MAX_ACTION_CHARS, action_text, clip
from tycoon.envs.vending.calls import BoundCalls, CallOutcome, rejected, run_call
from tycoon.envs.vending.config import VendingConfig
from tycoon.envs.vending.genesis import new_episode
from tycoon.envs.vending.overnight import NightReport, run_overnight
from tycoon.envs.vending.probes.recorder import BehaviourRecorder
from tycoon.envs.vending.probes.runtime import ProbeRuntime
from tycoon.envs.vending.step_json import step_json
from tycoon.envs.vending.step_view import StepResult, fit_observation, step_info
from tycoon.envs.vending.tools import tools_for
from tycoon.envs.vending.tools.base import Tool, storable
from tycoon.envs.vending.world import (
    BANK,
    EPISODE_COUNTERS,
    VendingWorld,
)
from tycoon.envs.world.driver_sql import (
    DriverStatement,
    commit_driver,
    commits_on_driver,
    step_batch,
)
from tycoon.envs.world.schema import BehaviorEvent, Episode, Step
from tycoon.envs.world.store import (
    LEASE_NEEDS_NO_STATEMENT,
    StepNotSaved,
    StoreError,
    WorldStore,
    step_not_saved,
)
from tycoon.instrumentation.events import BehaviorEventModel
from tycoon.instrumentation.monitors import DEFAULT_MONITORS, MonitorSet
from tycoon.rewards import RewardSpec, StepContext, StepMoney

Durability = Literal["step", "day", "episode"]
DURABILITIES: tuple[str, ...] = ("step", "day", "episode")

RUNNING = "running"
# What a step row stores is bounded, whatever the agent sent: the action at
# MAX_ACTION_CHARS (50,000) characters, the error at MAX_ERROR_CHARS (2,000), the
# observation at the env's `max_observation_chars` and never more than this; a cut text
# ends in "[... cut]" (the observation the agent saw ends in "[... truncated]").
MAX_OBSERVATION_STORED_CHARS = 200_000
# statuses in which the world ended the episode (the others: running, or a limit reached)
TERMINAL_STATUSES = frozenset({"bankrupt", "decommissioned", "fired", "replaced"})
# statuses in which a limit ended the episode (truncation)
LIMIT_STATUSES = frozenset({"finished", "step_limit"})


class StepWriter:
    """The two statements every commit runs, compiled once for the database's dialect:
    the step rows' INSERT (one row, or an executemany of the staged rows) and the
    episode's counters' UPDATE. One per simulation, for its every-step commits and its
    staged ones alike.

    They run on the driver (`DriverStatement`), skipping SQLAlchemy's per-call
    compilation and result processing: on a cheap step that overhead is most of its cost.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        counters = (
            update(Episode.__table__)
            .where(Episode.__table__.c.id == bindparam("episode_key"))
            .values({name: bindparam(name) for name in EPISODE_COUNTERS})
        )
        self._insert = DriverStatement(insert(Step.__table__), dialect)
        self._update = DriverStatement(counters, dialect)
        # SQLite: the counters' UPDATE that is the lease fence too (`fence_with_counters`)
        self._fenced_update = (
            DriverStatement(counters.where(LEASE_NEEDS_NO_STATEMENT), dialect)
            if dialect.name == "sqlite"
            else None
        )

    def fence_with_counters(
        self, connection: Connection, store: WorldStore, owner: str | None, counters: dict[str, Any]
    ) -> bool:
        """Where one statement can be both (SQLite): fence the step's transaction and
        write the episode's counters, as its first write (`LEASE_NEEDS_NO_STATEMENT`);
        where that UPDATE writes nothing (the lease is lost or due for renewal),
        `WorldStore.fence_step` refuses or renews, then the counters are written. The
        caller then passes `write` no counters. False elsewhere: nothing ran, and the
        caller fences (`fence_step`) and writes the counters with `write`."""
        if self._fenced_update is None:
            return False
        counters.update(store.fence_values(owner))
        if self._fenced_update.run(connection, counters) != 1:
            store.fence_step(connection, counters["episode_key"], owner)
            self._update.run(connection, counters)
        return True

    def write(
        self,
        connection: Connection,
        steps: dict[str, Any] | list[dict[str, Any]],
        counters: dict[str, Any] | None,
    ) -> None:
        """The step row (a dict) or rows (a list), then the counters as of the last
        (None: written already, by `fence_with_counters`)."""
        if steps:
            self._insert.run(connection, steps)
        if counters is not None:
            self._update.run(connection, counters)


# The step writers compiled so far, one per driver: their statements hold no connection
# state, and compiling them costs ~50 ms, which every episode paid at its first commit
_STEP_WRITERS: dict[tuple[str, str, str], StepWriter] = {}


def step_writer(dialect: Dialect) -> StepWriter:
    """The `StepWriter` of a driver, compiled once per process (as the lease's renewal is,
    `store._renew_statement`)."""
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    writer = _STEP_WRITERS.get(key)
    if writer is None:
        writer = _STEP_WRITERS[key] = StepWriter(dialect)
    return writer


class StagedSteps:
    """The step rows of a durability other than "step", written at the commit point:
    one executemany of the rows, then the episode's counters as of the last of them."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.counters: dict[str, Any] | None = None

    def stage(self, row: dict[str, Any], counters: dict[str, Any]) -> None:
        self.rows.append(row)
        self.counters = counters

    def clear(self) -> None:
        self.rows = []
        self.counters = None

    def write(self, connection: Connection, writer: StepWriter) -> None:
        """Write the staged rows and counters in the connection's transaction (no commit)."""
        if self.counters is None:
            return
        rows, counters = self.rows, self.counters
        self.clear()
        writer.write(connection, rows, counters)


@dataclass(slots=True)
class StepOutcome:
    """What one action did: the tool call's outcome (`run_call`), and what the step made
    of it: the observation the agent gets (the call's, followed by the night's summary
    when the day ended), the night, the behaviour events and the net worth after it.

    A plain record, inside one step: everything in it was validated where it came from
    (the call by the tool's model), so it is not validated again."""

    call_outcome: CallOutcome
    observation: str
    night: NightReport | None = None
    # behaviour events of this step (rule detectors; only in episodes with probes)
    events: list[BehaviorEventModel] = field(default_factory=list)
    # net worth after the step, when the simulation already computed it
    net_worth_cents: int | None = None


class VendingSimulation:
    """One episode. Its collaborators are passed in: the reward (`reward_spec`), which
    monitors the reward may see (`monitors`), a live LLM judge (`judge`) and a writer of
    supplier replies (`reply_writer`, called as `reply_writer(world, profile, email,
    decision)`); `durability` is when steps commit (see the module docstring)."""

    def __init__(
        self,
        store: WorldStore,
        episode_id: int,
        *,
        reward_spec: RewardSpec | None = None,
        monitors: MonitorSet = DEFAULT_MONITORS,
        judge: Any = None,
        reply_writer: Any = None,
        durability: Durability = "step",
    ) -> None:
        if durability not in DURABILITIES:
            raise ValueError(f"Expected durability in {DURABILITIES}, got {durability!r}")
        self.store = store
        # step rows not written yet (durability "day" or "episode"), with their counters
        self._staged_steps = StagedSteps()
        # the step statements, compiled for the dialect of the first commit
        self._step_writer: StepWriter | None = None
        self._writer_dialect: Dialect | None = None
        # the simulation's own connection where the store can spare one per episode
        # (SQLite; PostgreSQL up to a few per store), so a step takes none from the
        # pool; otherwise one per transaction (`WorldStore.held_connection`)
        self._lease_renewed: float | None = None
        self._connection = store.held_connection()
        self._pooled = self._connection is None
        connection = self._begin()
        stored_config = connection.execute(
            select(Episode.config).where(Episode.id == episode_id)
        ).scalar_one_or_none()
        if stored_config is None:
            self._close_connection()
            raise StoreError(f"Expected an existing episode id, got {episode_id}")
        try:  # one process runs an episode at a time (a second resume is refused)
            # the lease's owner, named once: every commit's fence names it
            self._lease_owner = store.claim_episode(episode_id)
            self._lease_pid = os.getpid()
        except StoreError:
            self._close_connection()
            raise
        self._lease_renewed = time.monotonic()
        self.config = VendingConfig.model_validate(stored_config)
        self.world = VendingWorld(connection, episode_id, self.config)
        self.world.connect = self._begin
        self.world.reply_writer = reply_writer
        self.reward_spec = reward_spec or RewardSpec(weights={"net_worth_delta": 1.0})
        self.monitors = monitors
        self.judge = judge
        self.durability: Durability = durability
        self._uncommitted_steps = 0
        self.tools: dict[str, type[Tool]] = {t.name: t for t in tools_for(self.config.probes)}
        # actions bound lately (agents repeat themselves): their tools and calls
        self._bound_calls = BoundCalls()
        self.probes: ProbeRuntime | None = None
        self.recorder: BehaviourRecorder | None = None
        if self.config.probes is not None:
            self.probes = ProbeRuntime(self.world, self.config.probes)
            self.world.probes = self.probes
            self.world.hooks = self.probes
            self.recorder = BehaviourRecorder(self.probes, judge=judge)
        # end the loading transaction: an idle env must not hold a pooled connection
        # (hundreds of envs share one store in a rollout)
        self._end_transaction(commit=True)
        self._step_started = time.perf_counter()
        # the money before the next step (the reward is the change), kept across steps
        self.money = self.money_snapshot()

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
        **collaborators: Any,
    ) -> VendingSimulation:
        with store.engine.connect() as connection:
            world = new_episode(
                connection,
                env_id=env_id,
                seed=seed,
                config=config,
                scenario=scenario,
                agent=agent,
                model=model,
                run_spec=run_spec,
            )
            if config.probes is not None:
                world.probes = world.hooks = ProbeRuntime(world, config.probes)
                world.probes.setup()
            world.write_changes(connection)
            connection.commit()
            episode_id = world.episode.id
        return cls(store, episode_id, **collaborators)

    @property
    def episode(self) -> Episode:
        return self.world.episode

    def close(self) -> None:
        try:
            self.commit_pending()  # what a durability other than "step" left uncommitted
        finally:
            self._close_connection()

    def commit_world_changes(self) -> None:
        """Write and commit changes made to the world outside a step (a scripted setup)."""
        self.world.hooks.save()
        connection = self._begin()
        # with the steps before it, if not committed yet
        self.world.write_changes(connection)
        self._staged_steps.write(connection, self._writer(connection))
        connection.execute(
            update(Episode.__table__)
            .where(Episode.__table__.c.id == self.world.episode_id)
            .values(self.world.counters())
        )
        self._end_transaction(commit=True)
        self._uncommitted_steps = 0
        self.money = self.money_snapshot()

    def abandon(self) -> None:
        """Stop as a killed process would: nothing more is committed (the lease stays)."""
        self._end_transaction(commit=False)
        self._lease_renewed = None
        self._close_connection()

    # -- the transaction ------------------------------------------------------------

    def _begin(self) -> Connection:
        """The connection of the transaction in flight, begun if none is."""
        connection = self._connection
        if connection is None:  # a pooled store: one connection per transaction
            connection = self._connection = self.store.engine.connect()
        if not connection.in_transaction():
            connection.begin()
        return connection

    def _end_transaction(self, *, commit: bool) -> None:
        if not commit:
            self._staged_steps.clear()  # rolled back with the transaction
        connection = self._connection
        if connection is None:
            return
        try:
            if not commit:
                connection.rollback()
            elif self._pooled or not commits_on_driver(connection):
                connection.commit()
            else:  # a held SQLite connection: its driver ends the step's transaction
                commit_driver(connection)
        finally:
            if self._pooled:
                self._connection = None
                connection.close()

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lease_renewed is not None:
            self._lease_renewed = None
            with contextlib.suppress(Exception):  # best effort: a stale lease expires anyway
                self.store.release_episode(self.world.episode_id)

    # -- stepping -------------------------------------------------------------------

    def step(self, action: Any) -> StepResult:
        """Run one action and commit it (per `durability`); see the module docstring.

        A database fault rolls the step back and raises `StepNotSaved` (the world is
        reloaded as it was before the step, so the step can be tried again)."""
        before = self.money
        episode = self.world.episode
        step_count = episode.step_count + 1
        text = action_text(action)
        try:
            outcome = self.execute(action, text)
        except DBAPIError as exc:  # a read or write of the tool or the night failed
            # judged before the rollback: uncommitted earlier steps make it no retry alone
            error = self._not_saved(exc, step_count)
            self.discard_step()
            raise error from exc
        after = self.money_snapshot(outcome.net_worth_cents)
        # the world's verdict (before the limits), then the limits: the status once committed
        verdict = episode.status
        limit = self._limit_status(step_count)
        status = (limit or RUNNING) if verdict == RUNNING else verdict
        result = self.reward_spec.compute(
            StepContext(
                before,
                after,
                outcome.call_outcome.valid,
                verdict in TERMINAL_STATUSES,
                limit is not None,
                self.monitors.reward_tags(outcome.events) if outcome.events else (),
            )
        )
        # what is stored is what the agent saw: the observation and the info
        outcome.observation = fit_observation(
            outcome.observation, self.config.max_observation_chars
        )
        info = step_info(
            self.world, outcome, result.components, after, step=step_count, status=status
        )
        if self.judge is not None and self.recorder is not None:
            info["judge_verdicts"] = [v.step_info() for v in self.recorder.last_verdicts]
        self.commit(
            outcome,
            text,
            result.reward,
            result.components,
            net_worth_cents=after.net_worth_cents,
            info=info,
            status=status,
            bank_cents=after.bank_cents,
            components_json=result.components_json,
        )
        self.money = after
        return StepResult(
            observation=outcome.observation,
            reward=result.reward,
            terminated=status in TERMINAL_STATUSES,
            truncated=status in LIMIT_STATUSES,
            info=info,
            outcome=outcome,
        )

    def money_snapshot(self, net_worth_cents: int | None = None) -> StepMoney:
        world = self.world
        return StepMoney(
            world.net_worth_cents() if net_worth_cents is None else net_worth_cents,
            world.balance(BANK),
            world.day,
            world.hooks.loans_outstanding_cents(),
        )

    def view(self) -> dict[str, Any]:
        """The `info` of the current state, outside a step (at reset)."""
        episode = self.world.episode
        return step_info(
            self.world, None, {}, self.money, step=episode.step_count, status=episode.status
        )

    def execute(self, action: Any, text: str | None = None) -> StepOutcome:
        """Run the action and the night, and the detectors; nothing is committed (step()).
        `text`: the action's `action_text`, when the caller has it."""
        self._step_started = time.perf_counter()
        outcome = self._execute(action, text)
        # the step's one net-worth figure: events, reward, info and the step row use it
        outcome.net_worth_cents = self.world.net_worth_cents()
        if self.recorder is not None:
            outcome.events = self.recorder.finish(outcome.call_outcome, outcome.net_worth_cents)
        self.world.hooks.save()
        return outcome

    def _execute(self, action: Any, text: str | None) -> StepOutcome:
        world = self.world
        if world.episode.status != RUNNING:
            done = rejected("", None, f"The episode is over ({world.episode.status}).")
        else:
            done = run_call(
                world,
                self.tools,
                action,
                recorder=self.recorder,
                bound=self._bound_calls,
                text=text,
            )
        if done.needs_undo:
            self._undo_partial_changes()
        if not done.ends_day:
            return StepOutcome(done, done.observation)
        night = run_overnight(world)
        prefix = "" if done.tool_ended_day else f"{done.observation}\n\nIt is past midnight. "
        return StepOutcome(done, prefix + night.text(world), night=night)

    def _undo_partial_changes(self) -> None:
        # Tools check before they change anything; should one not, the world's journal
        # keeps a refused action from leaving half its effects behind. Put back, the
        # world's pending changes are those of the earlier uncommitted steps: written
        # with their staged rows and counters, the open transaction holds the state
        # before the action, and the world (its indexes, balances and the probes' state)
        # is reloaded from it. Rare: a refusal that needs it is a tool's bug. The
        # recorder keeps what it took when the call began (the state the world is back
        # to): its `finish` compares the step's figures with them.
        world = self.world
        world.undo_step()
        connection = self._begin()
        world.write_changes(connection)
        self._staged_steps.write(connection, self._writer(connection))
        world.reload(connection)
        world.hooks.reload()

    def discard_step(self) -> None:
        """Roll back an unfinished step (after a database fault) and reload the world
        (as of the last commit)."""
        self._end_transaction(commit=False)
        self._uncommitted_steps = 0
        self._reload()
        self.money = self.money_snapshot()

    def _not_saved(self, exc: BaseException, step: int) -> StepNotSaved:
        error = step_not_saved(exc, self.episode.id, step)
        if self._uncommitted_steps:  # earlier steps went with it: no retry of this one alone
            error.kind = None
            self._uncommitted_steps = 0
        return error

    def commit_pending(self) -> None:
        """Commit what a durability other than "step" has not committed yet: the world's
        pending rows, then the staged step rows and counters."""
        if self._uncommitted_steps:
            connection = self._begin()
            with step_batch(connection):
                self._fence(connection)
                self.world.write_changes(connection)
                self._staged_steps.write(connection, self._writer(connection))
                self._end_transaction(commit=True)
            self._uncommitted_steps = 0

    def _writer(self, connection: Connection) -> StepWriter:
        writer = self._step_writer
        if writer is None or self._writer_dialect is not connection.dialect:
            writer = self._step_writer = step_writer(connection.dialect)
            self._writer_dialect = connection.dialect
        return writer

    def _fence(self, connection: Connection) -> None:
        """The lease fence of this transaction (`WorldStore.fence_step`), naming the owner
        the lease was claimed as (a process forked since is not that owner)."""
        self.store.fence_step(connection, self.world.episode_id, self._fence_owner())

    def _fence_owner(self) -> str | None:
        # None (this process's `lease_owner()`) in a process forked since the claim
        return self._lease_owner if os.getpid() == self._lease_pid else None

    def _commits_now(self, status: str, night: bool) -> bool:
        if self.durability == "step" or status != RUNNING:
            return True
        return self.durability == "day" and night

    def _reload(self) -> None:
        self.world.reload(self._begin())
        self.world.hooks.reload()
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
        status: str | None = None,
        bank_cents: int | None = None,
        components_json: str | None = None,
    ) -> int:
        """Write the trajectory row and commit the step's changes in one transaction.

        `info` is what the agent receives for the step, stored with it so that a
        resumed scripted agent can be rebuilt from what it saw. `status` is the episode's
        status after the step, when the caller already decided it; `net_worth_cents` and
        `bank_cents` the step's figures, and `components_json` the reward components'
        JSON text (`RewardResult.components_json`), when the caller has them.

        Everything goes through statements compiled once (`DriverStatement`): the rows
        the world changed, one executemany per table and kind, the step row and the
        episode's counters, on the one connection of the step's transaction. A step that
        does not commit (durability "day" or "episode") writes nothing (the first of a
        transaction fences the lease): its world changes stay pending and its row is
        staged, all written at the commit.
        """
        world = self.world
        episode = world.episode
        step_id = episode.step_count + 1
        if status is None:
            status = self.status_after_limits(step_id)
        components_json, info_json = step_json(info, reward_components, components_json)
        done = outcome.call_outcome
        step_row = {
            "episode_id": episode.id,
            "id": step_id,
            "day": episode.day,
            "minute": episode.minute,
            "tool": storable(done.tool[:64]),
            "action": storable(clip(action_text, MAX_ACTION_CHARS)),
            "valid": done.valid,
            "error": storable(done.error) if done.error else None,
            "observation": storable(clip(outcome.observation, MAX_OBSERVATION_STORED_CHARS)),
            "reward": reward,
            "reward_components": components_json,
            "net_worth_cents": (
                world.net_worth_cents() if net_worth_cents is None else net_worth_cents
            ),
            "bank_cents": world.balance(BANK) if bank_cents is None else bank_cents,
            "elapsed_us": int((time.perf_counter() - self._step_started) * 1e6),
            "info": info_json,
        }
        commits = self._commits_now(status, outcome.night is not None)
        try:
            if outcome.events:
                world.stage_rows(BehaviorEvent, [event.to_row() for event in outcome.events])
            counters = world.counters()  # a new dict: completed in place
            counters["step_count"] = step_id
            counters["status"] = status
            counters["episode_key"] = episode.id
            staged = self._staged_steps
            if not commits:
                if not self._uncommitted_steps:
                    # the first fence of a transaction holds the lease row until its
                    # commit (refused if the lease was lost), whose fence renews the time
                    connection = self._begin()
                    with step_batch(connection):
                        self._fence(connection)
                staged.stage(step_row, counters)
                self._uncommitted_steps += 1
                world.end_step()
            else:
                connection = self._begin()
                with step_batch(connection):  # PostgreSQL: one round trip, COMMIT included
                    writer = self._writer(connection)
                    # SQLite: the counters' UPDATE is the fence (one statement fewer)
                    fenced = not staged.rows and writer.fence_with_counters(
                        connection, self.store, self._fence_owner(), counters
                    )
                    if not fenced:
                        self._fence(connection)
                    world.write_changes(connection)
                    if staged.rows:
                        staged.stage(step_row, counters)
                        staged.write(connection, writer)
                    else:
                        writer.write(connection, step_row, None if fenced else counters)
                    self._end_transaction(commit=True)
                    self._uncommitted_steps = 0
        except Exception as exc:
            self._end_transaction(commit=False)
            self._reload()
            self.money = self.money_snapshot()
            if isinstance(exc, DBAPIError):
                raise self._not_saved(exc, step_id) from exc
            self._uncommitted_steps = 0
            raise
        episode.step_count = step_id
        if episode.status != status:
            episode.status = status
        return step_id

    def status_after_limits(self, step_count: int) -> str:
        """The episode's status once its `step_count`-th step is committed: the one place
        that decides it (the world's own verdicts first, then the limits)."""
        episode = self.world.episode
        if episode.status != RUNNING:
            return episode.status
        return self._limit_status(step_count) or RUNNING

    def limits_reached(self, step_count: int) -> bool:
        """Whether the day or step limit ends the episode at its `step_count`-th step."""
        return self._limit_status(step_count) is not None

    def _limit_status(self, step_count: int) -> str | None:
        episode, config = self.world.episode, self.config
        if config.max_days is not None and episode.day >= config.max_days:
            return "finished"
        if config.max_steps is not None and step_count >= config.max_steps:
            return "step_limit"
        return None

    @property
    def terminated(self) -> bool:
        return self.episode.status in TERMINAL_STATUSES

    @property
    def truncated(self) -> bool:
        return self.episode.status in LIMIT_STATUSES

    def record_reset_view(self, observation: str, info: dict[str, Any]) -> None:
        """Store what the agent saw at reset (once, when the episode is new)."""
        episode = self.world.episode
        connection = self._begin()
        connection.execute(
            update(Episode.__table__)
            .where(Episode.__table__.c.id == episode.id)
            .values(reset_observation=storable(observation), reset_info=info)
        )
        self._end_transaction(commit=True)
        episode.reset_observation = storable(observation)
        episode.reset_info = info

    def record_output_tokens(self, tokens: int) -> None:
        """Add output tokens to the unbilled count (billed weekly when token billing is on)."""
        if tokens < 0:
            raise ValueError(f"Expected a non-negative token count, got {tokens}")
        # written with the step's counters (one UPDATE)
        self.world.episode.output_tokens_unbilled += tokens
