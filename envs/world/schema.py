"""The SQL schema of every tycoon world: one `Base`, one table per kind of fact.

Every world row carries the `episode_id` of the episode it belongs to and a *local* id
that counts from 1 within that episode, and the pair is the primary key. Cross references
(an order line's `order_id`, an order's `supplier_id`) use local ids. That makes two
things cheap and exact: `fork` copies an episode by rewriting only `episode_id`, and the
state hash compares episodes whatever their ids.

Money is integer cents everywhere: floats would make balances drift and hashes differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


EpisodeKey = Annotated[
    int, mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True)
]
LocalId = Annotated[int, mapped_column(primary_key=True, autoincrement=False)]
Cents = Annotated[int, mapped_column(BigInteger)]
Sku = Annotated[str, mapped_column(String(64))]
LongText = Annotated[str, mapped_column(Text)]


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Episode(Base):
    """One run of one environment: its identity, configuration and clock.

    `day` counts from 0; `minute` is the minute of the day (a day starts at 06:00 = 360).
    Randomness is derived from (`seed`, day, stream name), so the seed and the clock are
    the whole generator state and a forked or resumed episode draws the same numbers.
    """

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    env_id: Mapped[str] = mapped_column(String(128))
    scenario: Mapped[str] = mapped_column(String(64), default="default")
    seed: Mapped[int] = mapped_column(BigInteger)
    config: Mapped[dict[str, Any]]
    agent: Mapped[str] = mapped_column(String(128), default="")
    model: Mapped[str] = mapped_column(String(256), default="")
    # how the episode is run (`tycoon.run_spec.RunSpec` as JSON: env, scenario, limits,
    # agent and its settings, never a key), so that a resume runs it the same way
    run_spec: Mapped[dict[str, Any] | None]
    # what the agent saw at reset, so that a resumed scripted agent can be rebuilt by
    # replaying its whole view (see tycoon.agents.history)
    reset_observation: Mapped[str | None] = mapped_column(Text)
    reset_info: Mapped[dict[str, Any] | None]
    parent_episode_id: Mapped[int | None]
    forked_at_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)

    day: Mapped[int] = mapped_column(default=0)
    minute: Mapped[int] = mapped_column(default=360)
    step_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    unpaid_fee_days: Mapped[int] = mapped_column(default=0)
    reputation: Mapped[float] = mapped_column(default=1.0)
    output_tokens_unbilled: Mapped[int] = mapped_column(BigInteger, default=0)


class Product(Base):
    __tablename__ = "products"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    sku: Mapped[Sku]
    name: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32))
    size: Mapped[str] = mapped_column(String(8))
    wholesale_low_cents: Mapped[Cents]
    wholesale_high_cents: Mapped[Cents]
    reference_price_cents: Mapped[Cents]
    elasticity: Mapped[float]
    base_daily_sales: Mapped[float]

    __table_args__ = (Index("ix_products_sku", "episode_id", "sku", unique=True),)


class Supplier(Base):
    __tablename__ = "suppliers"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(128))
    website: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    blurb: Mapped[LongText]
    min_order_units: Mapped[int]
    lead_time_days: Mapped[int]
    delay_probability: Mapped[float]
    closes_on_day: Mapped[int | None]
    payment_account: Mapped[str] = mapped_column(String(64))
    negotiation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_suppliers_email", "episode_id", "email", unique=True),)


class SupplierOffer(Base):
    """What a supplier sells and at what price; the reservation price is hidden."""

    __tablename__ = "supplier_offers"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    supplier_id: Mapped[int]
    sku: Mapped[Sku]
    list_price_cents: Mapped[Cents]
    reservation_price_cents: Mapped[Cents]


class Order(Base):
    """An invoice from a supplier and what became of it.

    status: invoiced -> paid -> shipped -> delivered, or lost (never arrives).
    """

    __tablename__ = "orders"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    supplier_id: Mapped[int]
    invoice_number: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    total_cents: Mapped[Cents]
    paid_cents: Mapped[Cents] = mapped_column(default=0)
    created_day: Mapped[int]
    paid_day: Mapped[int | None]
    arrival_day: Mapped[int | None]
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_orders_invoice", "episode_id", "invoice_number", unique=True),)


class OrderLine(Base):
    __tablename__ = "order_lines"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    order_id: Mapped[int]
    sku: Mapped[Sku]
    quantity: Mapped[int]
    unit_price_cents: Mapped[Cents]


class StorageItem(Base):
    """Goods in the storage unit, valued at their average unit cost."""

    __tablename__ = "inventory"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    sku: Mapped[Sku]
    quantity: Mapped[int]
    unit_cost_cents: Mapped[Cents]


class MachineSlot(Base):
    """One of the machine's slots (rows 0-1 small items, rows 2-3 large)."""

    __tablename__ = "machine_slots"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    machine_id: Mapped[int] = mapped_column(default=1)
    row: Mapped[int]
    col: Mapped[int]
    size: Mapped[str] = mapped_column(String(8))
    capacity: Mapped[int]
    sku: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(default=0)
    unit_cost_cents: Mapped[Cents] = mapped_column(default=0)


class Price(Base):
    """The machine's price for a product (one price per product, whatever the slot)."""

    __tablename__ = "prices"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    sku: Mapped[Sku]
    price_cents: Mapped[Cents]


class LedgerEntry(Base):
    """One money movement from one account to another (amount > 0).

    Accounts: `bank`, `machine_cash`, `card_clearing` are the operator's; everything else
    (`owner`, `customers`, `fees`, supplier and customer accounts) is outside. An account's
    balance is derived: money in minus money out.
    """

    __tablename__ = "ledger"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    day: Mapped[int]
    minute: Mapped[int]
    from_account: Mapped[str] = mapped_column(String(64))
    to_account: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[Cents]
    kind: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str] = mapped_column(String(256), default="")


class Email(Base):
    __tablename__ = "emails"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    folder: Mapped[str] = mapped_column(String(8))  # inbox | sent
    sender: Mapped[str] = mapped_column(String(256))
    recipient: Mapped[str] = mapped_column(String(256))
    subject: Mapped[str] = mapped_column(String(256))
    body: Mapped[LongText]
    day: Mapped[int]
    minute: Mapped[int]
    is_read: Mapped[bool] = mapped_column(default=False)
    # a sent email waits for the overnight simulation to answer it
    processed: Mapped[bool] = mapped_column(default=False)


class File(Base):
    """A file in the agent's virtual file system."""

    __tablename__ = "files"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    path: Mapped[str] = mapped_column(String(512))
    content: Mapped[LongText]
    modified_day: Mapped[int]

    __table_args__ = (Index("ix_files_path", "episode_id", "path", unique=True),)


class MemoryItem(Base):
    """The agent's memory: the scratchpad, key-value pairs and searchable notes."""

    __tablename__ = "memory"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    kind: Mapped[str] = mapped_column(String(16))  # scratchpad | kv | note
    key: Mapped[str] = mapped_column(String(256), default="")
    value: Mapped[LongText]
    day: Mapped[int]


class CustomerRequest(Base):
    """A customer's refund request (status: open, refunded, expired)."""

    __tablename__ = "customer_requests"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    account: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(128))
    amount_cents: Mapped[Cents]
    opened_day: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")


class Sale(Base):
    """One product's sales on one day."""

    __tablename__ = "sales"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    day: Mapped[int]
    sku: Mapped[Sku]
    units: Mapped[int]
    price_cents: Mapped[Cents]
    card_units: Mapped[int]
    cash_units: Mapped[int]
    unmet_units: Mapped[int]


class WorldEvent(Base):
    """Something that happened (or is scheduled) in the world, apart from the agent."""

    __tablename__ = "events"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    day: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fired: Mapped[bool] = mapped_column(default=True)


class Step(Base):
    """The trajectory: one row per env.step."""

    __tablename__ = "steps"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]  # the step index, from 1
    day: Mapped[int]
    minute: Mapped[int]
    tool: Mapped[str] = mapped_column(String(64))
    action: Mapped[LongText]
    valid: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)
    observation: Mapped[LongText]
    reward: Mapped[float]
    reward_components: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    net_worth_cents: Mapped[Cents]
    bank_cents: Mapped[Cents]
    elapsed_us: Mapped[int] = mapped_column(Integer, default=0)
    # the step's `info` as the agent received it (written in the step's transaction)
    info: Mapped[dict[str, Any] | None]


class BehaviorEvent(Base):
    """An instrumental behaviour observed by a detector (see tycoon.instrumentation)."""

    __tablename__ = "behavior_events"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    step: Mapped[int]
    day: Mapped[int]
    agent: Mapped[str] = mapped_column(String(64), default="agent")
    tag: Mapped[str] = mapped_column(String(96))
    detector: Mapped[str] = mapped_column(String(96))
    magnitude: Mapped[float] = mapped_column(default=1.0)
    evidence: Mapped[LongText] = mapped_column(default="")
    opportunity: Mapped[bool] = mapped_column(default=True)
    # False: an attempt the world refused (the taxonomy counts attempts for every tag)
    effective: Mapped[bool] = mapped_column(default=True, server_default=true())


class LlmCall(Base):
    """One chat-completion call of an LLM agent (see tycoon.agents.llm).

    `request` holds the call's messages as a delta from the previous call's:
    `{"keep": k, "append": [...], "new": n}` means the previous messages[:k] followed by
    `append`, whose last `n` messages are new to the conversation (the rest were re-sent
    after a context trim). The first call of an episode also stores the tool schemas.
    `step` is the env step the reply became (null when the reply held no tool call).
    The API key is never part of a record.
    """

    __tablename__ = "llm_calls"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    step: Mapped[int | None]
    model: Mapped[str] = mapped_column(String(256), default="")
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reply: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tool_call: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parse_status: Mapped[str] = mapped_column(String(32))
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    attempts: Mapped[int] = mapped_column(default=1)
    prefix_reuse: Mapped[float] = mapped_column(default=0.0)
    prompt_token_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    completion_token_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    logprobs: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)


class BehaviorOpportunity(Base):
    """Per behaviour tag, the days of an episode on which a step offered the opportunity
    (the denominator of a tag's rate per opportunity; see tycoon.instrumentation.metrics).
    One row per tag that had an opportunity; `last_day` is the last day counted."""

    __tablename__ = "behavior_opportunities"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    tag: Mapped[str] = mapped_column(String(96))
    days: Mapped[int] = mapped_column(default=0)
    last_day: Mapped[int] = mapped_column(default=-1)


class EvalRun(Base):
    """One run of an eval suite by one agent (see tycoon.leaderboards.suites).

    `spec` is what makes two invocations the same run (suite, agent, model, overrides):
    `tycoon eval` with the same spec finishes this run's missing episodes instead of
    starting a new one. Not world state: it is never forked or hashed."""

    __tablename__ = "eval_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    suite: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(256), default="")
    spec_key: Mapped[str] = mapped_column(String(64))  # a hash of `spec`
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    git_revision: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=_utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_eval_runs_spec", "suite", "agent", "model", "spec_key"),)


class EvalEpisode(Base):
    """An episode of an eval run: which scenario and seed of the suite it plays."""

    __tablename__ = "eval_episodes"

    eval_run_id: Mapped[int] = mapped_column(
        ForeignKey("eval_runs.id", ondelete="CASCADE"), primary_key=True
    )
    scenario: Mapped[str] = mapped_column(String(64), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))


class JudgeVerdictRecord(Base):
    """Every answer of the LLM judge, flagged or not, and every failed request
    (see tycoon.instrumentation.judge): what was asked and what came back.

    `outcome` is "flagged", "not_flagged" or "failed"; a failed request has
    `failure_kind` ("api": no usable answer from the server, "parse": an answer that does
    not parse) and `error`. `prompt_hash` is the SHA-256 of the messages sent. `source`
    says whether the judge ran live in the episode or after the fact (`tycoon judge`).
    `tycoon instrumentation agreement` compares these verdicts with the rule detectors.
    """

    __tablename__ = "judge_verdicts"

    episode_id: Mapped[EpisodeKey]
    id: Mapped[LocalId]
    step: Mapped[int]
    day: Mapped[int]
    tag: Mapped[str] = mapped_column(String(96))
    model: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(16), default="live")
    prompt_hash: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channel, text, facts
    outcome: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(8))
    confidence: Mapped[float | None]
    reasoning: Mapped[LongText] = mapped_column(default="")
    failure_kind: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    # the confidence a "yes" needed to be flagged, and the reply as received (bounded):
    # enough to re-derive the outcome at another threshold, or re-parse a failed reply
    threshold: Mapped[float | None]
    raw: Mapped[str | None] = mapped_column(Text)


class EpisodeLease(Base):
    """Which process runs an episode now ("host:pid"), renewed with its steps; a second
    process that tries to run (resume) the same episode is refused. Not world state: a
    fork or a hash ignores it."""

    __tablename__ = "episode_leases"

    episode_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(300))
    renewed_at: Mapped[float]  # unix time


class SupplierReplyCache(Base):
    """What a model wrote for a supplier's reply, keyed by a hash of the full request
    (`tycoon.envs.vending.supplier_writer`). Not world state (a fork does not copy it, the
    state hash ignores it): a cache shared by every episode in the database."""

    __tablename__ = "llm_supplier_replies"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the request
    model: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(300))  # ok | invalid: ... | error: ...
    reply: Mapped[str | None] = mapped_column(Text)  # the model's text (also when refused)
    request: Mapped[dict[str, Any]]
    episode_id: Mapped[int | None]  # the episode that asked first
    day: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime)


# eval bookkeeping points at episodes but is no part of any episode's world
EVAL_TABLES = frozenset({"eval_runs", "eval_episodes"})
# shared by all episodes: no part of any episode's world
SHARED_TABLES = frozenset({"episodes", "episode_leases", "llm_supplier_replies"})
# every table whose rows belong to an episode (copied by fork), in dependency order
WORLD_TABLES = [
    t
    for t in Base.metadata.sorted_tables
    if t.name not in SHARED_TABLES and t.name not in EVAL_TABLES
]
# the trajectory and the judgements about it are not world state
TRAJECTORY_TABLES = frozenset(
    {"steps", "behavior_events", "behavior_opportunities", "llm_calls", "judge_verdicts"}
)
