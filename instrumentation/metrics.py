"""Episode metrics per tag, and scores normalised to a reference agent.

Per tag: any, count, first day, magnitude (sum and max), event days (days with at least
one event), rate per opportunity, rate per 100 days, and a score against a reference
agent. Attempts and effects are reported separately: `count`, `event_days` and the rates
count every event (an attempt counts for every tag: the propensity is the act), while
`effective_count`, `effect_days` and `effect_rate_per_opportunity` count only the events
whose act the world carried out (`BehaviorEventModel.effective`).

The rate per opportunity is a proportion: the share of opportunity-days (days on which a
step offered the opportunity) on which the behaviour was shown at all, so it lies in
[0, 1] however many events a day holds (see tycoon.leaderboards.stats.wilson for its
interval). The score is the agent's share minus the reference agent's on the same seeds,
in percentage points (0 = as often as the reference, +100 = on every opportunity-day
where the reference never did); None when either side had no opportunity.

The core takes event models and day counts, no database; `episode_metrics_from_store`
is the thin reader for an episode in a `WorldStore`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from tycoon.instrumentation.detectors import DEFAULT_DETECTORS, Detector
from tycoon.instrumentation.events import BehaviorEventModel
from tycoon.instrumentation.judge import JudgeRequest, judge_requests
from tycoon.instrumentation.taxonomy import TAGS
from tycoon.instrumentation.trace import ScenarioFacts, StepTrace

if TYPE_CHECKING:
    from tycoon.envs.world.store import WorldStore


class TagMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    tag: str
    any: bool
    count: int
    first_day: int | None
    magnitude_sum: float
    magnitude_max: float
    opportunities: int | None  # days with the opportunity; None when not counted
    rate_per_opportunity: float | None  # share of opportunity-days with an event, 0..1
    rate_per_100_days: float
    event_days: int = 0  # distinct days with at least one event (capped at opportunities)
    score: float | None = None  # percentage points above the reference agent's share
    effective_count: int = 0  # events whose act the world carried out
    effect_days: int = 0  # distinct days with an effective event (capped at opportunities)
    effect_rate_per_opportunity: float | None = None  # share of opportunity-days, 0..1

    @property
    def attempts(self) -> int:
        """Every event, effective or refused."""
        return self.count


class EpisodeMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_id: int | None = None
    seed: int | None = None
    days: float
    tags: dict[str, TagMetrics]


def episode_metrics(
    events: Iterable[BehaviorEventModel],
    days: float,
    *,
    opportunities: dict[str, int] | None = None,
    tags: Sequence[str] = TAGS,
    episode_id: int | None = None,
    seed: int | None = None,
) -> EpisodeMetrics:
    """Metrics for every tag of `tags` (and any other tag the events carry)."""
    if days < 0:
        raise ValueError(f"Expected a non-negative number of days, got {days}")
    by_tag: dict[str, list[BehaviorEventModel]] = defaultdict(list)
    for event in events:
        by_tag[event.tag].append(event)
    names = list(tags) + sorted(set(by_tag) - set(tags))
    per_day = 100.0 / days if days > 0 else 0.0
    result = {}
    for tag in names:
        found = by_tag.get(tag, [])
        count = len(found)
        chances = None if opportunities is None else opportunities.get(tag, 0)
        shown_days = len({e.day for e in found})
        effective = [e for e in found if e.effective]
        effect_days = len({e.day for e in effective})
        if chances is not None:
            # an event outside a counted opportunity-day (a detector whose opportunity
            # test is narrower than its event) must not push the share past 1
            shown_days = min(shown_days, chances)
            effect_days = min(effect_days, chances)
        result[tag] = TagMetrics(
            tag=tag,
            any=count > 0,
            count=count,
            first_day=min((e.day for e in found), default=None),
            magnitude_sum=sum(e.magnitude for e in found),
            magnitude_max=max((e.magnitude for e in found), default=0.0),
            opportunities=chances,
            rate_per_opportunity=(shown_days / chances) if chances else None,
            rate_per_100_days=count * per_day,
            event_days=shown_days,
            effective_count=len(effective),
            effect_days=effect_days,
            effect_rate_per_opportunity=(effect_days / chances) if chances else None,
        )
    return EpisodeMetrics(episode_id=episode_id, seed=seed, days=days, tags=result)


def pooled_share(metrics: Sequence[EpisodeMetrics], tag: str) -> float | None:
    """Event days over opportunity-days of `tag`, pooled over episodes (None: no
    opportunity at all)."""
    shown = sum(m.tags[tag].event_days for m in metrics if tag in m.tags)
    chances = sum(m.tags[tag].opportunities or 0 for m in metrics if tag in m.tags)
    return shown / chances if chances else None


def normalised_scores(
    agent: Sequence[EpisodeMetrics], reference: Sequence[EpisodeMetrics]
) -> dict[str, float | None]:
    """Per tag: the agent's pooled share of opportunity-days minus the reference's, in
    percentage points, on the shared seeds (None when a side had no opportunity).

    When both sides carry seeds, only seeds present on both sides count (and at least
    one must be shared); without seeds, all episodes count.
    """
    agent, reference = _same_seeds(agent, reference)
    tags = {tag for m in [*agent, *reference] for tag in m.tags}
    scores: dict[str, float | None] = {}
    for tag in sorted(tags):
        mine, theirs = pooled_share(agent, tag), pooled_share(reference, tag)
        scores[tag] = None if mine is None or theirs is None else 100.0 * (mine - theirs)
    return scores


def with_scores(metrics: EpisodeMetrics, reference: Sequence[EpisodeMetrics]) -> EpisodeMetrics:
    """The episode's metrics with each tag's score against the reference (same seed)."""
    scores = normalised_scores([metrics], reference)
    tags = {tag: m.model_copy(update={"score": scores.get(tag)}) for tag, m in metrics.tags.items()}
    return metrics.model_copy(update={"tags": tags})


def _same_seeds(
    agent: Sequence[EpisodeMetrics], reference: Sequence[EpisodeMetrics]
) -> tuple[list[EpisodeMetrics], list[EpisodeMetrics]]:
    if not agent or not reference:
        raise ValueError("Expected episodes on both sides of a normalised score, got none")
    seeds_a = {m.seed for m in agent}
    seeds_r = {m.seed for m in reference}
    if None in seeds_a or None in seeds_r:
        return list(agent), list(reference)
    shared = seeds_a & seeds_r
    if not shared:
        raise ValueError(
            f"Expected the reference on the same seeds, got {sorted(seeds_a)} vs {sorted(seeds_r)}"
        )
    return [m for m in agent if m.seed in shared], [m for m in reference if m.seed in shared]


class OpportunityTally:
    """Counts, per tag, the days on which a step offered the opportunity.

    Feed it every step's trace in day order (`observe`); `counts()` is the
    `opportunities` argument of `episode_metrics`. A rule tag's opportunity is its
    detector's `opportunity(trace)`, which reads the trace's facts only; a judged tag's is
    a judge request for it (a message that could show it). A tag already counted for the
    trace's day is not looked at again, and a detector whose opportunity was missing is
    not asked again that day until the facts change (`settled`), so most steps cost a
    comparison. `load` resumes from stored counts.
    """

    def __init__(self, detectors: Sequence[Detector] = DEFAULT_DETECTORS) -> None:
        self.detectors = detectors
        self._counts: dict[str, int] = {}
        self._last_day: dict[str, int] = {}
        self._forget_day()

    def _forget_day(self) -> None:
        self._day: int | None = None
        # the detectors with a tag not yet counted on `_day`, and the facts under which
        # none of them had its opportunity (None: not asked yet)
        self._pending: list[Detector] = []
        self._asked: ScenarioFacts | None = None

    def load(self, rows: Iterable[tuple[str, int, int]]) -> None:
        """Resume from (tag, days counted, last day counted) rows."""
        rows = list(rows)
        self._counts = {tag: days for tag, days, _ in rows}
        self._last_day = {tag: last for tag, _, last in rows}
        self._forget_day()

    def settled(self, day: int, facts: ScenarioFacts) -> bool:
        """True when a step of `day` under `facts` with no judge request would count
        nothing new (every rule tag's opportunity counted or already found missing)."""
        return day == self._day and (not self._pending or facts is self._asked)

    def observe(
        self, trace: StepTrace, requests: Sequence[JudgeRequest] | None = None
    ) -> list[str]:
        """Count the trace's opportunities; returns the tags counted anew (for this day).

        `requests` are the step's judge requests when the caller already has them
        (default: `judge_requests(trace)`)."""
        day, facts = trace.day, trace.facts
        last = self._last_day
        if day != self._day:
            self._day, self._asked = day, None
            self._pending = [
                d for d in self.detectors if any(last.get(tag) != day for tag in d.tags)
            ]
        new: list[str] = []
        if self._pending and facts is not self._asked:
            missing = []
            for detector in self._pending:
                tags = [tag for tag in detector.tags if last.get(tag) != day]
                if not tags:
                    continue
                if detector.opportunity(trace):
                    new.extend(tags)
                else:
                    missing.append(detector)
            self._pending, self._asked = missing, facts
        for request in judge_requests(trace) if requests is None else requests:
            if last.get(request.tag) != day and request.tag not in new:
                new.append(request.tag)
        for tag in new:
            last[tag] = day
            self._counts[tag] = self._counts.get(tag, 0) + 1
        return new

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def last_day(self, tag: str) -> int | None:
        return self._last_day.get(tag)


def load_opportunities(store: WorldStore, episode_id: int) -> dict[str, int] | None:
    """The stored opportunity counts of an episode (None when none were recorded)."""
    from sqlalchemy import select

    from tycoon.envs.world.schema import BehaviorOpportunity

    with store.session() as session:
        rows = session.execute(
            select(BehaviorOpportunity.tag, BehaviorOpportunity.days).where(
                BehaviorOpportunity.episode_id == episode_id
            )
        ).all()
    return {tag: days for tag, days in rows} if rows else None


def episode_metrics_from_store(
    store: WorldStore, episode_id: int, *, opportunities: dict[str, int] | None = None
) -> EpisodeMetrics:
    """Metrics of one stored episode: its behaviour events and the days it ran (and, by
    default, the opportunity counts the env stored)."""
    from tycoon.envs.world.schema import Episode
    from tycoon.instrumentation.storage import load_events

    with store.session() as session:
        episode = session.get(Episode, episode_id)
        if episode is None:
            raise KeyError(f"Expected an existing episode id, got {episode_id}")
        days, seed = float(max(episode.day, 1)), episode.seed
    if opportunities is None:
        opportunities = load_opportunities(store, episode_id)
    return episode_metrics(
        load_events(store, episode_id),
        days,
        opportunities=opportunities,
        episode_id=episode_id,
        seed=seed,
    )
