"""An episode's summary, read back from the database (so it works for any run, any time)."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tycoon.envs.world.schema import Episode, LedgerEntry, Sale, Step
from tycoon.envs.world.store import StoreError, WorldStore


class EpisodeSummary(BaseModel):
    episode_id: int
    env_id: str
    agent: str
    model: str
    seed: int
    status: str
    days: int
    steps: int
    net_worth: float
    bank_balance: float
    units_sold: int
    revenue: float
    invalid_actions: int
    database: str

    def lines(self) -> list[str]:
        return [
            f"episode      {self.episode_id} ({self.env_id}, agent {self.agent or '-'}"
            + (f", model {self.model}" if self.model else "")
            + f", seed {self.seed})",
            f"status       {self.status}",
            f"days         {self.days}",
            f"steps        {self.steps}",
            f"net worth    ${self.net_worth:,.2f}",
            f"bank balance ${self.bank_balance:,.2f}",
            f"units sold   {self.units_sold} (revenue ${self.revenue:,.2f})",
            f"invalid      {self.invalid_actions} action(s)",
            f"database     {self.database}",
        ]


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
        bank = _balance(session, episode_id, "bank")
        net_worth = last_step.net_worth_cents if last_step else bank
        return EpisodeSummary(
            episode_id=episode.id,
            env_id=episode.env_id,
            agent=episode.agent,
            model=episode.model,
            seed=episode.seed,
            status=episode.status,
            days=episode.day,
            steps=episode.step_count,
            net_worth=net_worth / 100,
            bank_balance=bank / 100,
            units_sold=int(units),
            revenue=int(revenue) / 100,
            invalid_actions=int(invalid or 0),
            database=make_url(store.url).render_as_string(hide_password=True),
        )


def _balance(session, episode_id: int, account: str) -> int:  # type: ignore[no-untyped-def]
    inflow = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.episode_id == episode_id, LedgerEntry.to_account == account
        )
    )
    outflow = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.episode_id == episode_id, LedgerEntry.from_account == account
        )
    )
    return int(inflow) - int(outflow)
