"""ArenaCore: what both skins of the arena (AEC and parallel) share.

It opens or creates the market, keeps every operator's latest observation and info, and
applies one operator's action (the simulation's step and commit), updating every view
the step changed. The skins decide only whose actions to apply and in what order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, update

from tycoon.envs.arena import operators
from tycoon.envs.arena.config import ArenaConfig, seat_account, seat_email, seat_name
from tycoon.envs.arena.judging import judge_step, verdict_infos
from tycoon.envs.arena.schema import ARENA_TABLES, ArenaMarket
from tycoon.envs.arena.simulation import (
    MAX_OBSERVATION_STORED_CHARS,
    TERMINAL_STATUSES,
    ArenaSimulation,
    ArenaStepResult,
)
from tycoon.envs.arena.views import VIEW_KEY, MarketViews, market_views
from tycoon.envs.world.schema import Base, Episode
from tycoon.envs.world.store import SCHEMA_LOCK_KEY, WorldStore
from tycoon.instrumentation.judge import LLMJudge

ENV_ID = "tycoon/VendingArena-v0"  # also spelled in tycoon.commands.arena_run


def ensure_arena_tables(store: WorldStore) -> None:
    """Create the market's tables in a database a store opened before the arena was
    imported (its `create_all` did not know them yet).

    Several processes may do this at once (a rollout's workers opening one PostgreSQL
    database): under the lock that serialises the store's own schema creation (an
    advisory lock on PostgreSQL, the write lock on SQLite), so two creators never both
    see a table missing and both create it."""
    tables = [ArenaMarket.__table__, *ARENA_TABLES]
    engine = store.engine
    with engine.connect() as conn:
        existing = inspect(conn)
        if all(existing.has_table(table.name) for table in tables):
            return  # the usual case: no lock taken
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits (busy_timeout) for the writer
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
        Base.metadata.create_all(conn, tables=tables)
        conn.commit()


class ArenaCore:
    def __init__(
        self,
        config: ArenaConfig,
        store: WorldStore,
        *,
        agent_names: list[str] | None = None,
        model_names: list[str] | None = None,
        run_spec: dict[str, Any] | None = None,
        judge: LLMJudge | None = None,
    ) -> None:
        self.config = config
        self.store = store
        ensure_arena_tables(store)
        self.judge = judge  # asked live about mail between operators (`judging`)
        self.agent_names = agent_names
        self.model_names = model_names
        self.run_spec = run_spec
        self.simulation: ArenaSimulation | None = None
        self.observations: list[str] = []
        self.infos: list[dict[str, Any]] = []
        self.applied: list[tuple[int, str]] = []  # (seat, action text) this process applied
        self.views: MarketViews | None = None  # on resume: what every seat saw
        # output tokens each seat's agent spent, billed with the seat's next applied action
        self.unbilled_tokens: dict[int, int] = {}

    @property
    def possible_agents(self) -> list[str]:
        return [seat_name(i) for i in range(self.config.num_operators)]

    def open(self, seed: int, market_id: int | None) -> None:
        self.close()
        self.views = None
        if market_id is None:
            self.simulation = ArenaSimulation.create(
                self.store,
                env_id=ENV_ID,
                seed=seed,
                config=self.config,
                agents=self.agent_names,
                models=self.model_names,
                run_spec=self.run_spec,
            )
        else:
            self.simulation = ArenaSimulation(self.store, market_id)
            self.config = self.simulation.config
            if self.simulation.market.step_count:
                self._restore_views()
                return
        # a new market, or one killed before its first step: the welcome views
        self.observations = [self._welcome(i) for i in range(self.sim.count)]
        self.infos = [self.info(i) for i in range(self.sim.count)]
        for i, info in enumerate(self.infos):
            info["tools"] = self.tool_schemas(i)
            info.update(operators.briefing(self.sim.worlds[i]))
            info["episode_id"] = self.sim.seats[i].episode_id
            info["market_id"] = self.sim.market_id
            info["operator_email"] = seat_email(i)
            info["bank_account"] = seat_account(i)
        self._store_reset_views()
        if market_id is not None:
            self.views = market_views(self.sim.session, [s.episode_id for s in self.sim.seats])
            self.sim.session.commit()
        self.applied = []

    def _store_reset_views(self) -> None:
        """Every seat's first view, with its episode (a resume rebuilds agents from it)."""
        sim = self.sim
        connection = sim.session.connection()
        for seat, observation, info in zip(sim.seats, self.observations, self.infos, strict=True):
            connection.execute(
                update(Episode.__table__)
                .where(Episode.__table__.c.id == seat.episode_id)
                .values(reset_observation=observation, reset_info=info)
            )
        sim.session.commit()

    def _restore_views(self) -> None:
        """Every seat's view as the run left it (what its agent acts on next), the
        histories to rebuild the agents from, and the seats a cut-short round still owes."""
        sim = self.sim
        self.views = market_views(sim.session, [seat.episode_id for seat in sim.seats])
        sim.session.commit()  # the read's transaction must not hold the step's snapshot
        self.observations = [observation for observation, _ in self.views.current]
        self.infos = [dict(info) for _, info in self.views.current]
        self.applied = []

    def tool_schemas(self, seat: int) -> list[dict[str, Any]]:
        """The seat's tools (its probes add some) as OpenAI schemas."""
        return operators.operator_tool_schemas(self.sim.worlds[seat].config.probes)

    def close(self) -> None:
        if self.simulation is not None:
            self.simulation.close()
            self.simulation = None

    @property
    def sim(self) -> ArenaSimulation:
        if self.simulation is None:
            raise RuntimeError("Expected reset() before stepping or reading the market, got none")
        return self.simulation

    # -- views ----------------------------------------------------------------------

    def fit(self, seat: int, text: str) -> str:
        world = self.sim.worlds[seat]
        return operators.fit_observation(text, operators.max_observation_chars(world))

    def info(
        self,
        seat: int,
        result: ArenaStepResult | None = None,
    ) -> dict[str, Any]:
        sim = self.sim
        world = sim.worlds[seat]
        status = sim.status(seat)
        bank = operators.bank_cents(world)
        info: dict[str, Any] = {
            "operator": seat_name(seat),
            "day": world.day + 1,  # day 1 is the first day, as in the single-agent env
            "time": f"{world.minute // 60:02d}:{world.minute % 60:02d}",
            "step": world.episode.step_count,
            "bank_balance": bank / 100,
            "machine_cash": operators.machine_cash_cents(world) / 100,
            "net_worth": operators.net_worth_cents(world) / 100,
            "status": status,
            "score": bank / 100,
            "waiting": sim.in_business(seat) and sim.waiting(seat),
            "reward_components": {},
            "behavior_events": [],
            "invalid_action": False,
        }
        if result is None:
            return info
        if result.seat == seat:
            outcome = result.outcome
            info["tool"] = outcome.tool
            info["error"] = outcome.error
            info["tool_result"] = outcome.data
            info["invalid_action"] = not outcome.valid
        info["reward_components"] = {"net_worth_delta": result.rewards[seat]}
        night = result.nights.get(seat)
        if night is not None:
            info["night"] = night.model_dump()
        info["behavior_events"] = [
            {**event.model_dump(), "day": event.day + 1} for event in result.events.get(seat, [])
        ]
        return info

    # -- acting ---------------------------------------------------------------------

    def apply(
        self, seat: int, action: Any, round_order: tuple[int, list[int]] | None = None
    ) -> ArenaStepResult:
        """One operator's action: step, commit with the actor's info, refresh the views.

        The actor's step row also records the other seats' views the step changed (see
        `tycoon.envs.arena.views`); `round_order` is the parallel skin's round and the
        seats it asked, in the order it applies them."""
        sim = self.sim
        text = operators.stored_action(action)
        market_step = sim.market.step_count
        before = [(self.observations[i], dict(self.infos[i])) for i in range(sim.count)]
        tokens = self.unbilled_tokens.get(seat, 0)
        day = sim.worlds[seat].day  # the day the action was taken (a night may follow)
        result = sim.step(seat, action, text, output_tokens=tokens)
        self.unbilled_tokens.pop(seat, None)
        verdicts = judge_step(self.judge, sim, result, day) if self.judge is not None else []
        changed = set(result.observations) | set(result.nights) | set(result.events)
        for i in changed:
            if i in result.observations:
                self.observations[i] = self.fit(i, result.observations[i])
        for i in range(sim.count):
            if i == seat or i in changed:
                self.infos[i] = self.info(i, result)
            else:  # the others' figures may move (payments, mail); their last call stands
                self.infos[i].update(self._figures(i))
        if verdicts:
            self.infos[seat]["judge_verdicts"] = verdict_infos(verdicts)
        record: dict[str, Any] = {"step": market_step}
        if round_order is not None:
            record["round"], record["order"] = round_order
        moved = {
            str(i): [self.observations[i], self.infos[i]]
            for i in range(sim.count)
            if i != seat and before[i] != (self.observations[i], self.infos[i])
        }
        if moved:
            record["views"] = moved
        if self.observations[seat] != result.observations[seat][:MAX_OBSERVATION_STORED_CHARS]:
            record["observation"] = self.observations[seat]
        sim.commit({**self.infos[seat], VIEW_KEY: record})
        self.applied.append((seat, text))
        return result

    def record_output_tokens(self, seat: int, tokens: int) -> None:
        """Output tokens `seat`'s agent spent on its next action; they go into its
        episode with that action's step (a seat's ignored action keeps them for its next
        one), and its weekly bill charges them to its own bank."""
        if not 0 <= seat < self.sim.count:
            raise ValueError(f"Expected a seat 0..{self.sim.count - 1}, got {seat}")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise ValueError(f"Expected a non-negative token count, got {tokens!r}")
        self.unbilled_tokens[seat] = self.unbilled_tokens.get(seat, 0) + tokens

    def _figures(self, seat: int) -> dict[str, Any]:
        fresh = self.info(seat)
        keys = ("bank_balance", "machine_cash", "net_worth", "status", "score", "waiting")
        return {key: fresh[key] for key in keys}

    def terminated(self, seat: int) -> bool:
        return self.sim.status(seat) in TERMINAL_STATUSES

    def truncated(self, seat: int) -> bool:
        status = self.sim.status(seat)
        return status not in TERMINAL_STATUSES and status != "running"

    def _welcome(self, seat: int) -> str:
        world = self.sim.worlds[seat]
        others = ", ".join(
            f"{seat_name(i)} <{seat_email(i)}>" for i in range(self.sim.count) if i != seat
        )
        tools = ", ".join(schema["function"]["name"] for schema in self.tool_schemas(seat))
        return self.fit(
            seat,
            f"{operators.clock_text(world)}. You are {seat_name(seat)} <{seat_email(seat)}>, "
            f"bank account {seat_account(seat)}: you run a vending machine at "
            f"{world.config.machine_address}, one of {self.sim.count} machines at the site "
            f"(the others: {others}). Your storage unit is at {world.config.storage_address}. "
            f"Bank balance: {operators.money(operators.bank_cents(world))}. You have 1 new email "
            f"(read_inbox); /notes/market.md describes the market. Tools: {tools}.",
        )
