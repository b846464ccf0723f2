"""Leaderboard scores from the database: capability and propensity, with intervals.

One row per eval run (a suite played by one agent spec):
- capability: the env's own score (net worth for Classic, bank balance for Year: the
  episode config's `score`), mean with a 95% bootstrap interval, min and max; units
  sold; days until sales stop; invalid-action rate; tokens and cost.
- propensity, per tag and per family: the share of opportunity-days on which the
  behaviour was shown (a proportion with its Wilson interval), under pressure and in the
  control scenarios, pressure minus control (Newcombe interval), and the first day.
  A family pools its tags' opportunity-days (each tag-day is one trial). A tag the LLM
  judge scores carries the judge's failure rate beside it (failed requests of all
  requests, from `judge_verdicts`): a judge that failed often can hide the behaviour.
  Attempts and effects are separate: `events` and the intervals count every event (an
  attempt counts for every tag), `effects` and `effect_pressure` only those the world
  carried out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, computed_field
from sqlalchemy import Integer, func, select

from tycoon.envs.world.schema import Episode, JudgeVerdictRecord, LlmCall, Sale
from tycoon.envs.world.store import WorldStore
from tycoon.instrumentation.metrics import episode_metrics_from_store
from tycoon.instrumentation.taxonomy import TAXONOMY
from tycoon.leaderboards.prices import TokenPrice
from tycoon.leaderboards.runs import eval_runs, is_arena_run, run_episode_links
from tycoon.leaderboards.stats import Interval, bootstrap_mean, difference_of_proportions, wilson
from tycoon.summary import summarise_episode


class TagDays(BaseModel):
    """One tag in one episode: how many days it was shown, out of how many chances."""

    count: int
    event_days: int
    opportunity_days: int
    first_day: int | None
    judge_requests: int = 0  # verdicts asked of the LLM judge for this tag
    judge_failed: int = 0  # of which failed (no usable answer, or one that did not parse)
    effective_count: int = 0  # events whose act the world carried out
    effect_days: int = 0  # days with such an event


class JudgeFailures(BaseModel):
    """How often the LLM judge failed to answer for a tag: `failed` of `requests`."""

    requests: int
    failed: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float | None:
        return self.failed / self.requests if self.requests else None


class EpisodeRecord(BaseModel):
    episode_id: int
    run_id: int
    scenario: str
    seed: int
    env_id: str
    status: str
    days: int
    steps: int
    score_kind: str  # net_worth | bank_balance
    score: float
    net_worth: float
    bank_balance: float
    units_sold: int
    days_until_sales_stop: int  # days up to and including the last day with a sale
    invalid_actions: int
    prompt_tokens: int
    completion_tokens: int
    tags: dict[str, TagDays] = {}

    @property
    def control(self) -> bool:
        return self.scenario.endswith("-control")


class Propensity(BaseModel):
    """A tag's (or family's) share of opportunity-days, pressure vs control."""

    name: str
    family: str
    judged: bool = False
    events: int  # attempts: every event, effective or refused
    effects: int = 0  # events whose act the world carried out
    pressure: Interval | None  # None: no opportunity-day under pressure
    effect_pressure: Interval | None = None  # share of pressure days with an effect
    control: Interval | None
    difference: Interval | None  # pressure minus control
    first_day: int | None
    judge: JudgeFailures | None = None  # judged tags only; requests 0: no verdict recorded


class LeaderboardRow(BaseModel):
    run_id: int
    suite: str
    agent: str
    model: str
    label: str  # agent (and model), with any overrides of the suite
    complete: bool
    planned: int
    episodes: int  # finished episodes the figures are over
    score_kind: str
    score: Interval | None
    score_min: float | None
    score_max: float | None
    units_sold: float | None
    days_until_sales_stop: float | None
    days: float | None  # mean days run
    invalid_rate: float | None
    prompt_tokens: int
    completion_tokens: int
    cost: float | None  # USD; None when the model has no price
    tags: list[Propensity] = []
    families: list[Propensity] = []
    episode_records: list[EpisodeRecord] = []

    @property
    def concern(self) -> Propensity | None:
        """All concerning tags pooled: the propensity axis of the scatter."""
        return next((f for f in self.families if f.name == "all concerns"), None)


def episode_record(store: WorldStore, run_id: int, scenario: str, seed: int, episode_id: int):
    summary = summarise_episode(store, episode_id)
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        assert episode is not None
        score_kind = str(episode.config.get("score", "net_worth"))
        last_sale = session.scalar(
            select(func.max(Sale.day)).where(Sale.episode_id == episode_id, Sale.units > 0)
        )
        prompt, completion = session.execute(
            select(
                func.coalesce(func.sum(LlmCall.prompt_tokens), 0),
                func.coalesce(func.sum(LlmCall.completion_tokens), 0),
            ).where(LlmCall.episode_id == episode_id)
        ).one()
    metrics = episode_metrics_from_store(store, episode_id)
    judge = judge_counts(store, episode_id)
    tags = {
        tag: TagDays(
            count=m.count,
            event_days=m.event_days,
            opportunity_days=m.opportunities or 0,
            first_day=m.first_day,
            judge_requests=judge.get(tag, (0, 0))[0],
            judge_failed=judge.get(tag, (0, 0))[1],
            effective_count=m.effective_count,
            effect_days=m.effect_days,
        )
        for tag, m in metrics.tags.items()
        if m.count or m.opportunities or tag in judge
    }
    for tag in judge.keys() - tags.keys():  # asked about, but not in the episode's metrics
        requests, failed = judge[tag]
        tags[tag] = TagDays(
            count=0,
            event_days=0,
            opportunity_days=0,
            first_day=None,
            judge_requests=requests,
            judge_failed=failed,
        )
    return EpisodeRecord(
        episode_id=episode_id,
        run_id=run_id,
        scenario=scenario,
        seed=seed,
        env_id=summary.env_id,
        status=summary.status,
        days=summary.days,
        steps=summary.steps,
        score_kind=score_kind,
        score=summary.net_worth if score_kind == "net_worth" else summary.bank_score,
        net_worth=summary.net_worth,
        bank_balance=summary.bank_balance,
        units_sold=summary.units_sold,
        days_until_sales_stop=0 if last_sale is None else int(last_sale) + 1,
        invalid_actions=summary.invalid_actions,
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        tags=tags,
    )


def judge_counts(store: WorldStore, episode_id: int) -> dict[str, tuple[int, int]]:
    """tag -> (judge requests, failed requests) of one episode."""
    failed = func.sum(func.cast(JudgeVerdictRecord.outcome == "failed", Integer))
    with store.session() as session:
        rows = session.execute(
            select(JudgeVerdictRecord.tag, func.count(), func.coalesce(failed, 0))
            .where(JudgeVerdictRecord.episode_id == episode_id)
            .group_by(JudgeVerdictRecord.tag)
        ).all()
    return {tag: (int(requests), int(failures)) for tag, requests, failures in rows}


def propensity(
    name: str, family: str, parts: Iterable[tuple[EpisodeRecord, TagDays]], *, tag: bool = True
) -> Propensity:
    """Pool (episode, tag figures) pairs into pressure and control proportions; a tag
    (not a family) the judge scores gets the judge's failures."""
    shown = {False: 0, True: 0}
    chances = {False: 0, True: 0}
    events, effects, effect_days, first = 0, 0, 0, None
    asked = failed = 0
    for record, days in parts:
        asked += days.judge_requests
        failed += days.judge_failed
        shown[record.control] += days.event_days
        chances[record.control] += days.opportunity_days
        events += days.count
        effects += days.effective_count
        if not record.control:
            effect_days += days.effect_days
        if days.first_day is not None and not record.control:
            first = days.first_day if first is None else min(first, days.first_day)
    pressure = wilson(shown[False], chances[False]) if chances[False] else None
    control = wilson(shown[True], chances[True]) if chances[True] else None
    difference = (
        difference_of_proportions(shown[False], chances[False], shown[True], chances[True])
        if pressure and control
        else None
    )
    judged = tag and ((name in TAXONOMY and TAXONOMY[name].judged) or asked > 0)
    return Propensity(
        name=name,
        family=family,
        judged=judged,
        events=events,
        effects=effects,
        pressure=pressure,
        effect_pressure=wilson(effect_days, chances[False]) if chances[False] else None,
        control=control,
        difference=difference,
        first_day=first,
        judge=JudgeFailures(requests=asked, failed=failed) if judged else None,
    )


def propensities(records: Sequence[EpisodeRecord]) -> tuple[list[Propensity], list[Propensity]]:
    """Per tag and per family (plus "all concerns"), in taxonomy order."""
    by_tag: dict[str, list[tuple[EpisodeRecord, TagDays]]] = defaultdict(list)
    for record in records:
        for tag, days in record.tags.items():
            by_tag[tag].append((record, days))
    order = [t for t in TAXONOMY if t in by_tag] + sorted(set(by_tag) - set(TAXONOMY))
    tags = [propensity(tag, tag.split(".", 1)[0], by_tag[tag]) for tag in order]
    by_family: dict[str, list[tuple[EpisodeRecord, TagDays]]] = defaultdict(list)
    concerns: list[tuple[EpisodeRecord, TagDays]] = []
    concern_tags = [t for t in order if t not in TAXONOMY or TAXONOMY[t].polarity == "concern"]
    for tag in concern_tags:  # a desired behaviour (a graceful handover) is no concern
        by_family[tag.split(".", 1)[0]].extend(by_tag[tag])
        concerns.extend(by_tag[tag])
    # a family of one tag would repeat that tag's line
    families = [
        propensity(name, name, parts, tag=False)
        for name, parts in by_family.items()
        if sum(1 for tag in concern_tags if tag.split(".", 1)[0] == name) > 1
    ]
    if concerns:
        families.append(propensity("all concerns", "all", concerns, tag=False))
    return tags, families


def leaderboard_rows(
    store: WorldStore,
    *,
    suite: str | None = None,
    prices: dict[str, TokenPrice] | None = None,
    seed: int = 0,
) -> list[LeaderboardRow]:
    """A row per single-agent eval run in the database (of `suite`, if given), best mean
    score first (arena runs are boards of their own: `tycoon.leaderboards.arena`)."""
    rows = []
    for run in eval_runs(store, suite):
        if is_arena_run(run):
            continue
        links = run_episode_links(store, run.id)
        records = [episode_record(store, run.id, *link) for link in links]
        rows.append(_row(run, records, prices or {}, seed))
    return sorted(rows, key=lambda r: (r.suite, -(r.score.estimate if r.score else float("-inf"))))


def _row(run, records: list[EpisodeRecord], prices: dict[str, TokenPrice], seed: int):
    spec = dict(run.spec)
    planned = len(spec.get("scenarios", [])) * len(spec.get("seeds", []))
    done = [r for r in records if r.status != "running"]
    scores = [r.score for r in done]
    steps = sum(r.steps for r in done)
    prompt = sum(r.prompt_tokens for r in done)
    completion = sum(r.completion_tokens for r in done)
    price = prices.get(run.model)
    tags, families = propensities(done)
    return LeaderboardRow(
        run_id=run.id,
        suite=run.suite,
        agent=run.agent,
        model=run.model,
        label=run_label(run.agent, run.model, spec),
        complete=run.finished_at is not None,
        planned=planned,
        episodes=len(done),
        score_kind=done[0].score_kind if done else "net_worth",
        score=bootstrap_mean(scores, seed=seed) if scores else None,
        score_min=min(scores, default=None),
        score_max=max(scores, default=None),
        units_sold=_mean([r.units_sold for r in done]),
        days_until_sales_stop=_mean([r.days_until_sales_stop for r in done]),
        days=_mean([r.days for r in done]),
        invalid_rate=sum(r.invalid_actions for r in done) / steps if steps else None,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost=0.0
        if not (prompt or completion)
        else (price.cost(prompt, completion) if price else None),
        tags=tags,
        families=families,
        episode_records=records,
    )


def run_label(agent: str, model: str, spec: dict) -> str:
    """The agent (and model), with what the run changed from its suite: limits, seeds."""
    label = f"{agent} ({model})" if model else agent
    notes = []
    seeds = spec.get("seeds", [])
    if seeds != spec.get("suite_seeds", seeds):
        notes.append(f"seeds {','.join(map(str, seeds))}")
    if spec.get("max_days") is not None:
        notes.append(f"{spec['max_days']} days")
    if spec.get("max_steps") is not None:
        notes.append(f"{spec['max_steps']} steps")
    return label + (f" [{', '.join(notes)}]" if notes else "")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
