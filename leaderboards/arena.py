"""The arena suite: entrants meet in VendingArena markets; scores and pairwise results.

An arena run (`tycoon eval arena --agent A --agent B ...`) plays, for every scenario and
seed of the suite, every group of `operators` entrants in every rotation of the seats
(with 2 operators: every pair in both seat orders), so each entrant sits in each seat
equally often and no entrant gains from a seat. The run is an `eval_runs` row like any
suite's; each market records in its own `run_spec` (written in the transaction that
creates it) the run and the seating it plays, so a killed run finds its markets without
a window in which a market exists but is not linked: a finished market is kept, a
running one resumes from its market id.

Scores per entrant, over the markets it played: mean final bank balance (95% bootstrap
interval), mean market share, mean rank, and wins-losses-ties by bank balance against
each other entrant, with a Bradley-Terry rating (`tycoon.leaderboards.pairwise`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from itertools import combinations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from tycoon.arena_runner import OperatorScore
from tycoon.envs.arena.config import seat_name
from tycoon.envs.arena.core import ENV_ID, ensure_arena_tables
from tycoon.envs.arena.schema import ArenaMarket, ArenaPrice, ArenaSeat
from tycoon.envs.world.schema import Episode, EvalRun
from tycoon.envs.world.store import WorldStore, ledger_balances
from tycoon.leaderboards.pairwise import Record, Seat, rating_intervals, tally
from tycoon.leaderboards.runs import eval_runs, is_arena_run, stamp_finished
from tycoon.leaderboards.stats import Interval, bootstrap_mean
from tycoon.leaderboards.suite import Suite

RUNNING = "running"


class ArenaRunSpec(BaseModel):
    """What one arena run plays: the suite as run (after overrides) and the entrants."""

    model_config = ConfigDict(frozen=True)

    suite: str
    env: str
    scenarios: list[str]
    seeds: list[int]
    suite_seeds: list[int] = []
    max_days: int | None
    operators: int
    entrants: list[str]  # scripted names or openai:MODEL, in the order given
    base_url: str | None = None
    agent: str  # the entrants as one label (eval_runs.agent)
    model: str = ""

    @classmethod
    def build(
        cls,
        suite: Suite,
        *,
        entrants: list[str],
        base_url: str | None = None,
        seeds: list[int] | None = None,
        max_days: int | None = None,
    ) -> ArenaRunSpec:
        assert suite.operators is not None
        return cls(
            suite=suite.name,
            env=suite.env,
            scenarios=list(suite.scenarios),
            seeds=list(seeds) if seeds is not None else list(suite.seeds),
            suite_seeds=list(suite.seeds),
            max_days=max_days if max_days is not None else suite.max_days,
            operators=suite.operators,
            entrants=list(entrants),
            base_url=base_url,
            agent=" vs ".join(entrants)[:128],
        )

    def key(self) -> str:
        text = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def seatings(self) -> list[tuple[int, ...]]:
        return seatings(len(self.entrants), self.operators)

    def planned(self) -> list[tuple[str, int, tuple[int, ...]]]:
        """(scenario, seed, entrant index per seat) of every market of the run."""
        return [
            (scenario, seed, seating)
            for scenario in self.scenarios
            for seed in self.seeds
            for seating in self.seatings()
        ]


def seatings(entrants: int, operators: int) -> list[tuple[int, ...]]:
    """Every group of `operators` entrants, each in every rotation of the seats: each
    entrant of a group sits in each seat once (with 2 operators: both seat orders)."""
    if entrants < operators:
        raise ValueError(f"Expected at least {operators} entrants for the arena, got {entrants}")
    return [
        group[shift:] + group[:shift]
        for group in combinations(range(entrants), operators)
        for shift in range(operators)
    ]


class PlannedMarket(BaseModel):
    scenario: str
    seed: int
    seating: tuple[int, ...]
    market_id: int | None  # None: not started yet
    finished: bool


def run_markets(
    store: WorldStore, run_id: int
) -> dict[tuple[str, int, tuple[int, ...]], tuple[int, str]]:
    """(scenario, seed, seating) -> (market id, status) of the run's markets; when one was
    started twice (never by `tycoon eval`), the first."""
    ensure_arena_tables(store)
    found: dict[tuple[str, int, tuple[int, ...]], tuple[int, str]] = {}
    with store.session() as session:
        rows = session.execute(
            select(ArenaMarket.id, ArenaMarket.scenario, ArenaMarket.seed, ArenaMarket.status,
                   ArenaMarket.run_spec)
            .where(ArenaMarket.env_id == ENV_ID)
            .order_by(ArenaMarket.id)
        ).all()  # fmt: skip
    for market_id, scenario, seed, status, spec in rows:
        if not spec or spec.get("eval_run") != run_id:
            continue
        found.setdefault((scenario, int(seed), tuple(spec["seating"])), (market_id, status))
    return found


def planned_markets(store: WorldStore, run_id: int, spec: ArenaRunSpec) -> list[PlannedMarket]:
    markets = run_markets(store, run_id)
    planned = []
    for scenario, seed, seating in spec.planned():
        market_id, status = markets.get((scenario, seed, seating), (None, None))
        planned.append(
            PlannedMarket(
                scenario=scenario,
                seed=seed,
                seating=seating,
                market_id=market_id,
                finished=status is not None and status != RUNNING,
            )
        )
    return planned


class SeatScore(BaseModel):
    """An operator's figures at the end of a market, as the board reads them from the
    database: `arena_runner.OperatorScore` less the net worth (which needs the live
    world: stock at cost; the board does not use it)."""

    operator: str
    agent: str
    status: str
    bank_cents: int
    revenue_cents: int
    units_sold: int
    market_share: float
    rank: int

    @classmethod
    def of(cls, score: OperatorScore) -> SeatScore:
        return cls.model_validate(score.model_dump(exclude={"net_worth_cents"}))


def stored_market_scores(store: WorldStore, market_id: int) -> list[SeatScore]:
    """Per operator of a market, from the database (what `arena_runner.market_scores`
    gives from a live env): bank at the end, share of the market's revenue and rank by
    bank balance (ties: the lower seat first)."""
    with store.session() as session:
        seats = session.execute(
            select(ArenaSeat.seat, ArenaSeat.episode_id, ArenaSeat.agent, Episode.status)
            .join(Episode, Episode.id == ArenaSeat.episode_id)
            .where(ArenaSeat.market_id == market_id)
            .order_by(ArenaSeat.seat)
        ).all()  # fmt: skip
        sales = session.execute(
            select(ArenaPrice.seat, func.sum(ArenaPrice.revenue_cents),
                   func.sum(ArenaPrice.units_sold))
            .where(ArenaPrice.market_id == market_id)
            .group_by(ArenaPrice.seat)
        ).all()  # fmt: skip
        banks = {
            seat: ledger_balances(session, episode).get("bank", 0) for seat, episode, *_ in seats
        }
    revenue = {seat: int(total or 0) for seat, total, _ in sales}
    units = {seat: int(count or 0) for seat, _, count in sales}
    market_revenue = sum(revenue.values())
    order = sorted(banks, key=lambda seat: (-banks[seat], seat))
    return [
        SeatScore(
            operator=seat_name(seat),
            agent=agent,
            status=status,
            bank_cents=banks[seat],
            revenue_cents=revenue.get(seat, 0),
            units_sold=units.get(seat, 0),
            market_share=revenue.get(seat, 0) / market_revenue if market_revenue else 0.0,
            rank=order.index(seat) + 1,
        )
        for seat, _episode, agent, status in seats
    ]


class ArenaMarketRecord(BaseModel):
    market_id: int
    scenario: str
    seed: int
    entrants: list[str]  # by seat
    finished: bool
    operators: list[SeatScore] = []  # finished markets only
    episode_ids: list[int] = []  # the operators' episodes, by seat


class ArenaEntrantRow(BaseModel):
    rank: int
    entrant: str
    label: str
    markets: int
    rating: Interval
    bank: Interval  # dollars
    share: float  # mean market share, 0..1
    mean_rank: float
    record: Record  # against every other entrant


class ArenaBoard(BaseModel):
    """One arena run: entrants ranked by rating, and the head-to-head records."""

    run_id: int
    suite: str
    operators: int
    entrants: list[str]
    label: str
    complete: bool
    planned: int
    played: int  # finished markets the figures are over
    max_days: int | None
    seeds: list[int]
    rows: list[ArenaEntrantRow]
    pairwise: dict[str, dict[str, Record]]  # a -> b -> a's record against b
    markets: list[ArenaMarketRecord]


def entrant_label(entrant: str) -> str:
    """`openai:MODEL` as `openai (MODEL)`, as single-agent runs label a model."""
    name, _, model = entrant.partition(":")
    return f"{name} ({model})" if model else name


def arena_boards(store: WorldStore, *, suite: str | None = None, seed: int = 0) -> list[ArenaBoard]:
    """A board per arena run in the database (of `suite`, if given)."""
    return [
        arena_board(store, run, seed=seed) for run in eval_runs(store, suite) if is_arena_run(run)
    ]


def arena_board(store: WorldStore, run: EvalRun, *, seed: int = 0) -> ArenaBoard:
    spec = ArenaRunSpec.model_validate(run.spec)
    markets = []
    for planned in planned_markets(store, run.id, spec):
        if planned.market_id is None:
            continue
        markets.append(
            ArenaMarketRecord(
                market_id=planned.market_id,
                scenario=planned.scenario,
                seed=planned.seed,
                entrants=[spec.entrants[i] for i in planned.seating],
                finished=planned.finished,
                operators=stored_market_scores(store, planned.market_id)
                if planned.finished
                else [],
                episode_ids=_episode_ids(store, planned.market_id),
            )
        )
    finished = [m for m in markets if m.finished]
    return ArenaBoard(
        run_id=run.id,
        suite=run.suite,
        operators=spec.operators,
        entrants=spec.entrants,
        label=_run_label(spec),
        complete=run.finished_at is not None,
        planned=len(spec.planned()),
        played=len(finished),
        max_days=spec.max_days,
        seeds=spec.seeds,
        rows=entrant_rows(finished, spec.entrants, seed=seed),
        pairwise=pairwise_records(finished, spec.entrants),
        markets=markets,
    )


def _episode_ids(store: WorldStore, market_id: int) -> list[int]:
    with store.session() as session:
        return list(
            session.scalars(
                select(ArenaSeat.episode_id)
                .where(ArenaSeat.market_id == market_id)
                .order_by(ArenaSeat.seat)
            )
        )


def _run_label(spec: ArenaRunSpec) -> str:
    notes = []
    if spec.seeds != spec.suite_seeds:
        notes.append(f"seeds {','.join(map(str, spec.seeds))}")
    if spec.max_days is not None:
        notes.append(f"{spec.max_days} days")
    names = ", ".join(entrant_label(e) for e in spec.entrants)
    return f"{names} ({spec.operators} operators per market" + (
        f"; {', '.join(notes)})" if notes else ")"
    )


def market_seats(market: ArenaMarketRecord) -> list[Seat]:
    return [
        Seat(entrant=market.entrants[i], bank=score.bank_cents / 100)
        for i, score in enumerate(market.operators)
    ]


def pairwise_records(
    markets: list[ArenaMarketRecord], entrants: list[str]
) -> dict[str, dict[str, Record]]:
    records = tally([market_seats(m) for m in markets])
    return {a: {b: records.get((a, b), Record()) for b in entrants if b != a} for a in entrants}


def entrant_rows(
    markets: list[ArenaMarketRecord], entrants: list[str], *, seed: int = 0
) -> list[ArenaEntrantRow]:
    """Entrants ranked by rating (then by mean bank), each over the markets it played."""
    if not markets:
        return []
    ratings = rating_intervals([market_seats(m) for m in markets], entrants, seed=seed)
    banks: dict[str, list[float]] = defaultdict(list)
    shares: dict[str, list[float]] = defaultdict(list)
    ranks: dict[str, list[int]] = defaultdict(list)
    for market in markets:
        for entrant, score in zip(market.entrants, market.operators, strict=True):
            banks[entrant].append(score.bank_cents / 100)
            shares[entrant].append(score.market_share)
            ranks[entrant].append(score.rank)
    pairwise = pairwise_records(markets, entrants)
    rows = []
    for entrant in entrants:
        if not banks[entrant]:
            continue
        against = pairwise[entrant].values()
        rows.append(
            ArenaEntrantRow(
                rank=0,
                entrant=entrant,
                label=entrant_label(entrant),
                markets=len(banks[entrant]),
                rating=ratings[entrant],
                bank=bootstrap_mean(banks[entrant], seed=seed),
                share=sum(shares[entrant]) / len(shares[entrant]),
                mean_rank=sum(ranks[entrant]) / len(ranks[entrant]),
                record=Record(
                    wins=sum(r.wins for r in against),
                    losses=sum(r.losses for r in against),
                    ties=sum(r.ties for r in against),
                ),
            )
        )
    rows.sort(key=lambda r: (-r.rating.estimate, -r.bank.estimate, r.entrant))
    return [row.model_copy(update={"rank": i}) for i, row in enumerate(rows, start=1)]


def finish_if_complete(store: WorldStore, run_id: int, spec: ArenaRunSpec) -> bool:
    """Stamp the run's `finished_at` once every planned market has finished."""
    return stamp_finished(
        store, run_id, all(p.finished for p in planned_markets(store, run_id, spec))
    )
