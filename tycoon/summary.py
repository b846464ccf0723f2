"""An episode's summary, read back from the database (so it works for any run, any time)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tycoon.envs.vending.probes.state import stored_probe_state
from tycoon.envs.world.schema import Episode, Sale, Step
from tycoon.envs.world.store import StoreError, WorldStore, ledger_balances
from tycoon.instrumentation.storage import judge_tally


class TagSummary(BaseModel):
    """One behaviour tag's figures in an episode."""

    count: int
    first_day: int | None  # counted from 1, like every day people see
    magnitude: float  # summed
    rate_per_100_days: float
    opportunities: int | None = None  # days with the opportunity (None: not counted)
    rate_per_opportunity: float | None = None  # share of opportunity-days with an event
    score: float | None = None  # percentage points above a reference agent, same seed


class EpisodeSummary(BaseModel):
    episode_id: int
    env_id: str
    agent: str
    model: str
    seed: int
    status: str
    days: int  # days that have passed
    day: int  # the day the clock is on, counted from 1 as `tycoon show` and the env count it
    steps: int
    net_worth: float
    bank_balance: float
    units_sold: int
    revenue: float
    invalid_actions: int
    database: str
    scenario: str = "default"
    # owed to the bank (credit probe only): the bank-balance score nets it out
    loans_outstanding: float = 0.0
    # behaviour events by tag (only tags that occurred), in taxonomy order
    behavior: dict[str, TagSummary] = {}
    # the LLM judge's requests in this episode (live or after the fact), and failures:
    # with any failure the behaviour figures are incomplete and never read "none"
    judge_requests: int = 0
    judge_failed: int = 0
    judge_failure: str | None = None  # "N of M judge requests failed: <first error>"

    @property
    def bank_score(self) -> float:
        """The bank-balance score (Year, Probes): the balance less outstanding loans, as
        the env's `info["score"]`."""
        return self.bank_balance - self.loans_outstanding

    def lines(self) -> list[str]:
        return [
            f"episode      {self.episode_id} ({self.env_id}, agent {self.agent or '-'}"
            + (f", model {self.model}" if self.model else "")
            + f", seed {self.seed})",
            f"status       {self.status}",
            f"days         {self.days} passed; last day {self.day}",
            f"steps        {self.steps}",
            f"net worth    ${self.net_worth:,.2f}",
            f"bank balance ${self.bank_balance:,.2f}",
            f"units sold   {self.units_sold} (revenue ${self.revenue:,.2f})",
            f"invalid      {self.invalid_actions} action(s)",
            *self.behavior_lines(),
            f"database     {self.database}",
        ]

    def behavior_lines(self) -> list[str]:
        incomplete = (
            [f"behaviour    INCOMPLETE: {self.judge_failure}"] if self.judge_failure else []
        )
        if self.scenario == "default" and not self.behavior:
            return incomplete  # no probes: nothing could be observed
        if not self.behavior:
            if incomplete:
                return [*incomplete, "             (the rule detectors observed nothing)"]
            return [f"behaviour    none observed (scenario {self.scenario})"]
        scored = any(f.score is not None for f in self.behavior.values())
        lines = [
            f"behaviour    scenario {self.scenario}: tag, count, first day, "
            "share of opportunity-days (days), per 100 days"
            + (", vs reference (points)" if scored else "")
        ]
        width = max(len(tag) for tag in self.behavior)
        for tag, figures in self.behavior.items():
            first = "-" if figures.first_day is None else str(figures.first_day)
            per_chance = (
                "       -"
                if figures.rate_per_opportunity is None
                else f"{figures.rate_per_opportunity:8.2f}"
            )
            chances = "" if figures.opportunities is None else f"({figures.opportunities})"
            line = (
                f"  {tag:<{width}}  {figures.count:>4}  day {first:>3}  "
                f"{per_chance} {chances:<6} {figures.rate_per_100_days:8.1f}"
            )
            if scored:
                line += "       -" if figures.score is None else f"  {figures.score:+6.0f}"
            lines.append(line)
        return incomplete + lines


def summarise_episode(store: WorldStore, episode_id: int) -> EpisodeSummary:
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        if episode is None:
            raise StoreError(f"Expected an existing episode id, got {episode_id}")
        units, revenue = session.execute(
            select(
                func.coalesce(func.sum(Sale.units), 0),
                func.coalesce(func.sum(Sale.units * Sale.price_cents), 0),
            ).where(Sale.episode_id == episode_id)
        ).one()
        invalid = session.scalar(
            select(func.count()).where(Step.episode_id == episode_id, Step.valid.is_(False))
        )
        last_step = session.scalars(
            select(Step).where(Step.episode_id == episode_id).order_by(Step.id.desc()).limit(1)
        ).first()
        behavior = _behavior(store, episode_id, episode.day)
        judged = judge_tally(session, episode_id)
        bank = ledger_balances(session, episode_id).get("bank", 0)
        probe_state = stored_probe_state(session, episode_id)
        net_worth = last_step.net_worth_cents if last_step else bank
        return EpisodeSummary(
            episode_id=episode.id,
            env_id=episode.env_id,
            agent=episode.agent,
            model=episode.model,
            seed=episode.seed,
            status=episode.status,
            days=episode.day,
            day=episode.day + 1,
            steps=episode.step_count,
            net_worth=net_worth / 100,
            bank_balance=bank / 100,
            loans_outstanding=(probe_state.loan_cents if probe_state else 0) / 100,
            units_sold=int(units),
            revenue=int(revenue) / 100,
            invalid_actions=int(invalid or 0),
            database=make_url(store.url).render_as_string(hide_password=True),
            scenario=episode.scenario,
            behavior=behavior,
            judge_requests=judged.requests,
            judge_failed=judged.failed,
            judge_failure=judged.failure_line(),
        )


def _behavior(store: WorldStore, episode_id: int, days: int) -> dict[str, TagSummary]:
    """Per tag that occurred: count, first day (a day index), magnitude, rates."""
    from tycoon.instrumentation.metrics import episode_metrics, load_opportunities
    from tycoon.instrumentation.storage import load_events

    events = load_events(store, episode_id)
    if not events:
        return {}
    metrics = episode_metrics(
        events, float(max(days, 1)), opportunities=load_opportunities(store, episode_id)
    )
    return {tag: tag_summary(m) for tag, m in metrics.tags.items() if m.count}


def tag_summary(m: Any) -> TagSummary:
    """A `TagSummary` from a `tycoon.instrumentation.metrics.TagMetrics`."""
    return TagSummary(
        count=m.count,
        first_day=None if m.first_day is None else m.first_day + 1,
        magnitude=m.magnitude_sum,
        rate_per_100_days=m.rate_per_100_days,
        opportunities=m.opportunities,
        rate_per_opportunity=m.rate_per_opportunity,
        score=m.score,
    )
