"""Measuring the LLM judge: against labels, and against the rule detectors.

- `judge_scores(cases, judge)`: the judge's precision and recall per tag on labelled gold
  cases. Every judge request a case's trace calls for is asked; its label is whether
  the tag is among the case's `judge_tags` or `expected_tags` (the judge of a report sees
  the same figures and ledger the rule sees). Failed requests are counted apart: they
  are neither a yes nor a no.
- `agreement(pairs)`: how often the judge and the rule detectors agree on the tags both
  score (`SHARED_TAGS`: market power, false report), with Cohen's kappa. Pairs come from
  gold cases (`gold_pairs`) or from stored episodes (`stored_pairs`: each stored verdict
  of a shared tag against the rule events of the same step).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import select

from tycoon.instrumentation.detectors import DEFAULT_DETECTORS, run_detectors
from tycoon.instrumentation.judge import JudgeVerdict, LLMJudge, judge_requests
from tycoon.instrumentation.taxonomy import TAXONOMY
from tycoon.instrumentation.validation import GoldCase

if TYPE_CHECKING:
    from tycoon.envs.world.store import WorldStore

# tags scored by both a rule detector and the judge
SHARED_TAGS: tuple[str, ...] = tuple(
    spec.name for spec in TAXONOMY.values() if spec.judged and spec.rule_detected
)
# tags only the judge scores (their labelled set is instrumentation/gold/judge.jsonl)
JUDGE_ONLY_TAGS: tuple[str, ...] = tuple(
    spec.name for spec in TAXONOMY.values() if spec.judged and not spec.rule_detected
)
RULE_DETECTOR_NAMES = frozenset(detector.name for detector in DEFAULT_DETECTORS)


class JudgeScore(BaseModel):
    tag: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    failed: int = 0  # requests with no usable answer (neither yes nor no)
    errors: tuple[str, ...] = ()  # case ids of misses, false alarms and failures

    @property
    def asked(self) -> int:
        return (
            self.true_positives
            + self.false_positives
            + self.false_negatives
            + self.true_negatives
            + self.failed
        )

    @property
    def precision(self) -> float | None:
        fired = self.true_positives + self.false_positives
        return self.true_positives / fired if fired else None

    @property
    def recall(self) -> float | None:
        support = self.true_positives + self.false_negatives
        return self.true_positives / support if support else None


def labelled_verdicts(
    cases: Sequence[GoldCase], judge: LLMJudge
) -> list[tuple[GoldCase, JudgeVerdict, bool]]:
    """Ask the judge every request the cases call for: (case, verdict, label)."""
    asked = []
    for case in cases:
        labels = set(case.judge_tags) | set(case.expected_tags)
        for request in judge_requests(case.trace):
            asked.append((case, judge.judge_safely(request), request.tag in labels))
    return asked


def judge_scores(
    asked: Iterable[tuple[GoldCase, JudgeVerdict, bool]], threshold: float
) -> list[JudgeScore]:
    """Per tag, in taxonomy order: the judge's confusion counts against the labels."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors: dict[str, list[str]] = defaultdict(list)
    for case, verdict, label in asked:
        tag = verdict.request.tag
        if verdict.error is not None:
            counts[tag]["failed"] += 1
            errors[tag].append(case.id)
            continue
        flagged = verdict.flagged(threshold)
        key = {
            (True, True): "true_positives",
            (True, False): "false_positives",
            (False, True): "false_negatives",
            (False, False): "true_negatives",
        }[(flagged, label)]
        counts[tag][key] += 1
        if flagged != label:
            errors[tag].append(case.id)
    return [
        JudgeScore(tag=tag, errors=tuple(errors[tag]), **counts[tag])
        for tag in TAXONOMY
        if tag in counts
    ]


class Agreement(BaseModel):
    """Judge and rule detectors on one tag: the 2x2 table, rate and Cohen's kappa."""

    tag: str
    both_yes: int = 0
    both_no: int = 0
    rule_only: int = 0
    judge_only: int = 0
    judge_failed: int = 0  # left out of the table

    @property
    def pairs(self) -> int:
        return self.both_yes + self.both_no + self.rule_only + self.judge_only

    @property
    def rate(self) -> float | None:
        return (self.both_yes + self.both_no) / self.pairs if self.pairs else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond chance (None when chance explains all)."""
        n = self.pairs
        if not n:
            return None
        rule_yes = (self.both_yes + self.rule_only) / n
        judge_yes = (self.both_yes + self.judge_only) / n
        expected = rule_yes * judge_yes + (1 - rule_yes) * (1 - judge_yes)
        if expected >= 1.0:
            return None
        return ((self.both_yes + self.both_no) / n - expected) / (1 - expected)


def agreement(pairs: Iterable[tuple[str, bool | None, bool]]) -> list[Agreement]:
    """(tag, judge flagged — None when the request failed —, rule fired) -> per tag."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for tag, judged, ruled in pairs:
        if judged is None:
            table[tag]["judge_failed"] += 1
        elif judged and ruled:
            table[tag]["both_yes"] += 1
        elif judged:
            table[tag]["judge_only"] += 1
        elif ruled:
            table[tag]["rule_only"] += 1
        else:
            table[tag]["both_no"] += 1
    return [Agreement(tag=tag, **table[tag]) for tag in SHARED_TAGS if tag in table]


def gold_pairs(
    asked: Iterable[tuple[GoldCase, JudgeVerdict, bool]], threshold: float
) -> list[tuple[str, bool | None, bool]]:
    """Judge verdicts on shared tags against the rule detectors on the same case."""
    pairs = []
    for case, verdict, _label in asked:
        tag = verdict.request.tag
        if tag not in SHARED_TAGS:
            continue
        ruled = tag in {event.tag for event in run_detectors(case.trace)}
        judged = None if verdict.error is not None else verdict.flagged(threshold)
        pairs.append((tag, judged, ruled))
    return pairs


def stored_pairs(
    store: WorldStore, episode_ids: Sequence[int] | None = None
) -> list[tuple[str, bool | None, bool]]:
    """Every stored verdict on a shared tag against the rule events of its step."""
    from tycoon.envs.world.schema import BehaviorEvent, JudgeVerdictRecord

    with store.session() as session:
        verdicts = select(
            JudgeVerdictRecord.episode_id,
            JudgeVerdictRecord.step,
            JudgeVerdictRecord.tag,
            JudgeVerdictRecord.outcome,
        ).where(JudgeVerdictRecord.tag.in_(SHARED_TAGS))
        events = select(BehaviorEvent.episode_id, BehaviorEvent.step, BehaviorEvent.tag).where(
            BehaviorEvent.tag.in_(SHARED_TAGS),
            BehaviorEvent.detector.in_(RULE_DETECTOR_NAMES),
        )
        if episode_ids is not None:
            verdicts = verdicts.where(JudgeVerdictRecord.episode_id.in_(episode_ids))
            events = events.where(BehaviorEvent.episode_id.in_(episode_ids))
        fired = {tuple(row) for row in session.execute(events)}
        rows = [tuple(row) for row in session.execute(verdicts.order_by(JudgeVerdictRecord.id))]
    return [
        (tag, None if outcome == "failed" else outcome == "flagged", (episode, step, tag) in fired)
        for episode, step, tag, outcome in rows
    ]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_judge_table(scores: Sequence[JudgeScore], model: str) -> str:
    lines = [f"LLM judge ({model}) on the labelled gold cases"]
    rows = [("tag", "asked", "TP", "FP", "FN", "TN", "failed", "precision", "recall")]
    for s in scores:
        rows.append(
            (
                s.tag,
                str(s.asked),
                str(s.true_positives),
                str(s.false_positives),
                str(s.false_negatives),
                str(s.true_negatives),
                str(s.failed),
                _ratio(s.precision),
                _ratio(s.recall),
            )
        )
    lines += _columns(rows)
    wrong = [f"  {s.tag}: {', '.join(s.errors)}" for s in scores if s.errors]
    if wrong:
        lines += ["", "cases the judge got wrong or failed:", *wrong]
    return "\n".join(lines)


def format_agreement(rows: Sequence[Agreement]) -> str:
    lines = ["Judge vs rule detectors on the tags both score"]
    table = [("tag", "pairs", "both yes", "both no", "rule only", "judge only", "failed")]
    table[0] += ("agreement", "kappa")
    for a in rows:
        table.append(
            (
                a.tag,
                str(a.pairs),
                str(a.both_yes),
                str(a.both_no),
                str(a.rule_only),
                str(a.judge_only),
                str(a.judge_failed),
                _ratio(a.rate),
                _ratio(a.kappa),
            )
        )
    if not rows:
        return lines[0] + ": no verdict on a shared tag"
    return "\n".join(lines + _columns(table))


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out
